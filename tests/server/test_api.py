"""The HTTP API against a real server: shapes, gate, limits, errors, auth, health, metrics."""

from __future__ import annotations

import math
import time

import httpx
import pytest
from server_helpers import RunningServer, run_server, updated, wait_ready

from crossrank import RelevancePolicy
from crossrank.server import ServerSettings

QUERY = "How do I reset my password?"
ON_TOPIC = "Click on 'Forgot Password' on the login screen and follow the emailed link."
OFF_TOPIC = "Our office is closed on public holidays."


def test_cohere_shape_matches_the_scorer(client: httpx.Client, scorer) -> None:
    docs = [OFF_TOPIC, {"text": ON_TOPIC, "id": "kb-7"}, "Bananas are yellow."]
    response = client.post("/v1/rerank", json={"query": QUERY, "documents": docs, "return_documents": True})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = scorer.score(QUERY, [OFF_TOPIC, ON_TOPIC, "Bananas are yellow."])
    assert [r["index"] for r in body["results"]] == sorted(range(3), key=lambda i: -expected[i].logit)
    for result in body["results"]:
        want = expected[result["index"]]
        assert math.isclose(result["relevance_score"], want.probability, abs_tol=1e-4)
        assert math.isclose(result["relevance_logit"], want.logit, abs_tol=1e-3) and result["logit"] == result["relevance_logit"]
        assert result["rerank_windows"] == 1
    assert body["results"][0]["document"] == {"text": ON_TOPIC, "id": "kb-7"}
    assert body["results"][1]["document"]["text"] in {OFF_TOPIC, "Bananas are yellow."}
    # The tiny test model has no calibration, so no recommended threshold: the default gate
    # ("model") applies none and says so instead of calling the documents relevant.
    assert body["verdict"] == "ungated" and body["threshold"] is None and body["dropped"] == []
    assert body["threshold_source"] == "none"
    assert body["id"] == response.headers["x-request-id"]
    assert body["meta"]["api_version"]["version"] == "1"


def test_cohere_without_return_documents_omits_them(client: httpx.Client) -> None:
    body = client.post(
        "/v2/rerank", json={"query": QUERY, "documents": [ON_TOPIC, OFF_TOPIC], "top_n": 1}
    ).json()
    assert len(body["results"]) == 1 and "document" not in body["results"][0]
    assert body["results"][0]["index"] == 0
    assert [(d["index"], d["drop_reason"]) for d in body["dropped"]] == [(1, "beyond_top_n")]


def test_gate_drops_with_reasons_and_verdicts(client: httpx.Client, scorer) -> None:
    body = client.post(
        "/v1/rerank", json={"query": QUERY, "documents": [OFF_TOPIC, ON_TOPIC], "min_probability": 0.5}
    ).json()
    want = RelevancePolicy(min_probability=0.5).apply(
        QUERY, [OFF_TOPIC, ON_TOPIC], scorer.score(QUERY, [OFF_TOPIC, ON_TOPIC])
    )
    assert [r["index"] for r in body["results"]] == [d.index for d in want.kept] == [1]
    assert [(d["index"], d["drop_reason"]) for d in body["dropped"]] == [(0, "below_min_probability")]
    assert body["threshold"] == 0.5 and body["verdict"] == "relevant" and body["threshold_source"] == "user"

    none = client.post(
        "/v1/rerank", json={"query": QUERY, "documents": [OFF_TOPIC], "min_probability": 0.9}
    ).json()
    assert none["verdict"] == "none" and none["results"] == []
    weak = client.post(
        "/v1/rerank", json={"query": QUERY, "documents": [OFF_TOPIC], "min_probability": 0.9, "min_keep": 1}
    ).json()
    assert weak["verdict"] == "weak" and weak["results"][0]["passed_threshold"] is False
    off = client.post(
        "/v1/rerank", json={"query": QUERY, "documents": [OFF_TOPIC], "min_probability": "none"}
    ).json()
    assert off["verdict"] == "ungated" and off["threshold_source"] == "none" and len(off["results"]) == 1


def test_tei_shape(client: httpx.Client, scorer) -> None:
    texts = [OFF_TOPIC, ON_TOPIC]
    expected = scorer.score(QUERY, texts)
    probs = client.post("/rerank", json={"query": QUERY, "texts": texts, "return_text": True}).json()
    assert [r["index"] for r in probs] == [1, 0]
    assert probs[0]["text"] == ON_TOPIC
    assert math.isclose(probs[0]["score"], expected[1].probability, abs_tol=1e-4)
    raw = client.post(
        "/rerank", json={"query": QUERY, "texts": texts, "raw_scores": True, "truncate": True}
    ).json()
    assert "text" not in raw[0]
    assert math.isclose(raw[0]["score"], expected[1].logit, abs_tol=1e-3)


def test_cohere_v2_priority_and_relevant_spans_are_accepted(client: httpx.Client) -> None:
    body = {
        "query": QUERY,
        "documents": [OFF_TOPIC, ON_TOPIC],
        "priority": 0,
        "relevant_spans": {"mode": "enabled", "threshold": 0.1, "max_spans": 3},
    }
    response = client.post("/v2/rerank", json=body)
    assert response.status_code == 200, response.text
    assert [r["index"] for r in response.json()["results"]] == [1, 0]
    assert all("relevant_spans" not in r for r in response.json()["results"])


def test_empty_document_list_is_an_empty_answer(client: httpx.Client) -> None:
    body = client.post("/v1/rerank", json={"query": QUERY, "documents": []}).json()
    assert body["results"] == [] and body["verdict"] == "none"
    assert client.post("/rerank", json={"query": QUERY, "texts": []}).json() == []


@pytest.mark.parametrize(
    ("path", "payload", "status", "names"),
    [
        ("/v1/rerank", {"query": "   ", "documents": ["a"]}, 422, "query"),
        (
            "/v1/rerank",
            {"query": "\u200b\u2060 \ufeff", "documents": ["a"]},
            422,
            "query is empty: it has only",
        ),
        ("/rerank", {"query": "\u200b\u200d\t", "texts": ["a"]}, 422, "zero-width characters"),
        ("/v1/rerank", {"documents": ["a"]}, 422, "query"),
        ("/v1/rerank", {"query": "q", "documents": ["a", 5]}, 422, "documents[1]"),
        ("/v1/rerank", {"query": "q", "documents": [{"title": "no text"}]}, 422, "documents[0]"),
        ("/v1/rerank", {"query": "q", "documents": ["a"], "top_k": 2}, 422, "top_k"),
        ("/v1/rerank", {"query": "q", "documents": ["a"], "top_n": 0}, 422, "top_n"),
        ("/v1/rerank", {"query": "q", "documents": ["a"], "top_n": 1, "min_keep": 2}, 422, "min_keep"),
        ("/v1/rerank", {"query": "q", "documents": ["a"], "rank_fields": ["title"]}, 422, "rank_fields"),
        (
            "/v2/rerank",
            {"query": "q", "documents": ["a"], "priority": -1},
            422,
            "priority: Input should be greater",
        ),
        (
            "/v2/rerank",
            {"query": "q", "documents": ["a"], "relevant_spans": {"mode": "on"}},
            422,
            "relevant_spans.mode",
        ),
        ("/v1/rerank", {"query": "q", "documents": ["a"] * 51}, 422, "CROSSRANK_SERVER_MAX_DOCUMENTS"),
        ("/v1/rerank", {"query": "q", "documents": ["a", "x" * 2001]}, 422, "documents[1]"),
        ("/v1/rerank", {"query": "q" * 501, "documents": ["a"]}, 422, "CROSSRANK_SERVER_MAX_QUERY_CHARS"),
        ("/rerank", {"query": "q", "texts": ["y" * 2000] * 11}, 422, "CROSSRANK_SERVER_MAX_REQUEST_CHARS"),
        ("/rerank", {"query": "q", "texts": "not a list"}, 422, "texts"),
    ],
)
def test_bad_input_gets_a_clear_4xx(
    client: httpx.Client, path: str, payload: dict, status: int, names: str
) -> None:
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    assert names in response.json()["message"]


def test_malformed_json_is_400_with_position(client: httpx.Client) -> None:
    response = client.post(
        "/v1/rerank", content=b'{"query": "q", "documents": [', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"] and "position" in response.json()["message"]


def test_oversize_body_is_413_before_it_is_read(client: httpx.Client, server: RunningServer) -> None:
    big = {"query": "q", "texts": ["z" * 1000] * 250}  # ~250 kB > max_body_bytes 200 kB
    response = client.post("/rerank", json=big)
    assert response.status_code == 413
    assert "CROSSRANK_SERVER_MAX_BODY_BYTES" in response.json()["message"]

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(30):
            yield b" " * 10_000

    streamed = client.post("/rerank", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert client.post("/rerank", json={"query": QUERY, "texts": [ON_TOPIC]}).status_code == 200


def test_health_ready_and_metrics(client: httpx.Client, server: RunningServer) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["checks"] == {"model": "ok"}
    before = server.metric("crossrank_http_requests_total", endpoint="/rerank", status="200")
    docs_before = server.metric("crossrank_documents_scored_total")
    assert client.post("/rerank", json={"query": QUERY, "texts": [ON_TOPIC, OFF_TOPIC]}).status_code == 200
    assert server.metric("crossrank_http_requests_total", endpoint="/rerank", status="200") == before + 1
    assert server.metric("crossrank_documents_scored_total") == docs_before + 2
    text = client.get("/metrics").text
    for name in (
        "crossrank_http_request_duration_seconds_bucket",
        "crossrank_batch_documents_bucket",
        "crossrank_batch_requests_bucket",
        "crossrank_queue_depth",
        "crossrank_score_cache_hits_total",
        "crossrank_model_ready 1.0",
    ):
        assert name in text, name
    client.get("/no/such/path/123")
    assert server.metric("crossrank_http_requests_total", endpoint="other", status="404") >= 1


def test_cache_hits_are_counted(server_settings: ServerSettings) -> None:
    with run_server(updated(server_settings, cache_size=100)) as running:
        wait_ready(running.url)
        payload = {"query": QUERY, "texts": [ON_TOPIC, OFF_TOPIC]}
        assert httpx.post(f"{running.url}/rerank", json=payload).status_code == 200
        assert httpx.post(f"{running.url}/rerank", json=payload).status_code == 200
        assert running.metric("crossrank_score_cache_hits_total") == 2
        assert running.metric("crossrank_score_cache_misses_total") == 2


def test_api_key(server_settings: ServerSettings) -> None:
    with run_server(updated(server_settings, api_key="s3cret")) as running:
        wait_ready(running.url)  # health and readiness stay open for probes
        payload = {"query": QUERY, "documents": [ON_TOPIC]}
        missing = httpx.post(f"{running.url}/v1/rerank", json=payload)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in missing.json()["message"]
        wrong = httpx.post(f"{running.url}/v1/rerank", json=payload, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = httpx.post(
            f"{running.url}/rerank",
            json={"query": QUERY, "texts": [ON_TOPIC]},
            headers={"Authorization": "Bearer s3cret"},
        )
        assert ok.status_code == 200
        assert running.metric("crossrank_rejected_requests_total", reason="unauthorized") == 2


def test_an_empty_api_key_means_no_key(server_settings: ServerSettings) -> None:
    # `--api-key ""` and CROSSRANK_SERVER_API_KEY= both mean "no key" (an empty key used to refuse everyone)
    with run_server(updated(server_settings, api_key="")) as running:
        wait_ready(running.url)
        response = httpx.post(f"{running.url}/rerank", json={"query": QUERY, "texts": [ON_TOPIC]})
        assert response.status_code == 200, response.text


def test_model_that_cannot_load_is_reported_not_ready(server_settings: ServerSettings, tmp_path) -> None:
    with run_server(updated(server_settings, model=str(tmp_path / "missing-model"))) as running:
        for _ in range(200):
            ready = httpx.get(f"{running.url}/readyz")
            if "failed" in ready.json()["checks"]["model"]:
                break
            time.sleep(0.05)
        assert ready.status_code == 503 and "missing-model" in ready.json()["checks"]["model"]
        response = httpx.post(f"{running.url}/rerank", json={"query": QUERY, "texts": [ON_TOPIC]})
        assert response.status_code == 503 and "could not be loaded" in response.json()["message"]
        assert running.metric("crossrank_rejected_requests_total", reason="not_ready") == 1
        assert httpx.get(f"{running.url}/healthz").status_code == 200
