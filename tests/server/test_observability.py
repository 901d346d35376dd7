"""Metrics and logs against real servers: buckets that cover the timeout, labels that say the
path called, every refusal counted once with its reason, and ``crossrank serve``'s log as
JSON lines (a ready line, one line per timeout or refusal, no progress bars).
"""

from __future__ import annotations

import json
import os
import re
import signal
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from server_helpers import RunningServer, spawn_server
from tiny_model import QA

from crossrank.server import ServerSettings
from crossrank.server.metrics import REJECTION_REASONS

QUERY, ON_TOPIC, OFF_TOPIC = QA[0]
JSON = {"content-type": "application/json"}


def _bucket_bounds(server: RunningServer, name: str) -> list[float]:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    bounds = {
        float(sample.labels["le"])
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == f"{name}_bucket"
    }
    return sorted(b for b in bounds if b != float("inf"))


def test_duration_buckets_cover_the_request_timeout(
    client: httpx.Client, server: RunningServer, server_settings: ServerSettings
) -> None:
    assert client.post("/rerank", json={"query": QUERY, "texts": [ON_TOPIC]}).status_code == 200
    timeout = server_settings.request_timeout_s
    for name in ("crossrank_http_request_duration_seconds", "crossrank_batch_duration_seconds"):
        bounds = _bucket_bounds(server, name)
        # the timeout is a bound (timed-out requests are told apart) and one lies above it
        assert timeout in bounds and bounds[-1] > timeout, (name, bounds)


def test_verdicts_are_labelled_with_the_path_called(client: httpx.Client, server: RunningServer) -> None:
    before = {p: server.metric("crossrank_verdicts_total", endpoint=p) for p in ("/v1/rerank", "/v2/rerank")}
    assert client.post("/v2/rerank", json={"query": QUERY, "documents": [ON_TOPIC]}).status_code == 200
    assert server.metric("crossrank_verdicts_total", endpoint="/v2/rerank") == before["/v2/rerank"] + 1
    assert server.metric("crossrank_verdicts_total", endpoint="/v1/rerank") == before["/v1/rerank"]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "reason"),
    [
        ("POST", "/v1/rerank", json.dumps({"query": "q", "documents": ["a"] * 51}), JSON, 422, "limit"),
        ("POST", "/rerank", json.dumps({"query": "q" * 501, "texts": ["a"]}), JSON, 422, "limit"),
        ("POST", "/v1/rerank", json.dumps({"documents": ["a"]}), JSON, 422, "invalid"),
        ("POST", "/v1/rerank", '{"query": "q", "documents": ["a"], "top_n": NaN}', JSON, 422, "invalid"),
        ("POST", "/rerank", '{"query": "q", "texts": [', JSON, 400, "invalid_json"),
        (
            "POST",
            "/rerank",
            json.dumps({"query": "q", "texts": ["z" * 1000] * 250}),
            JSON,
            413,
            "body_too_large",
        ),
        (
            "POST",
            "/v1/rerank",
            json.dumps({"query": "q", "documents": ["a"]}),
            {},
            415,
            "unsupported_media_type",
        ),
        ("GET", "/v1/rerank", None, {}, 405, "method_not_allowed"),
    ],
)
def test_every_refusal_is_counted_once_with_its_reason(
    client: httpx.Client,
    server: RunningServer,
    method: str,
    path: str,
    body: str | None,
    headers: dict[str, str],
    status: int,
    reason: str,
) -> None:
    assert reason in REJECTION_REASONS  # documented in the metric's help and docs/server.md
    before = {r: server.metric("crossrank_rejected_requests_total", reason=r) for r in REJECTION_REASONS}
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text
    after = {r: server.metric("crossrank_rejected_requests_total", reason=r) for r in REJECTION_REASONS}
    assert {r: after[r] - before[r] for r in REJECTION_REASONS if after[r] != before[r]} == {reason: 1}


def _log_lines(output: str) -> list[dict]:
    lines = [line for line in output.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"a log line is not JSON: {line!r}\n--- whole log:\n{output}") from None
    return parsed


def test_serve_logs_json_lines_and_answers_health_while_the_model_loads(tiny_model_dir: str) -> None:
    env = {
        **os.environ,
        "CROSSRANK_SERVER_LOG_LEVEL": "info",
        "CROSSRANK_SERVER_REQUEST_TIMEOUT_S": "0.3",
        "CROSSRANK_SERVER_ADMIT_FRACTION": "0",  # else the long request below is refused (413), not timed out
        "CROSSRANK_SERVER_MAX_BATCH_SIZE": "2048",
        "CROSSRANK_SERVER_MAX_DOCUMENT_CHARS": "5000",
        "CROSSRANK_SERVER_MAX_BODY_BYTES": "5000000",
    }
    env.pop("TQDM_DISABLE", None)
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)  # the server must turn the bars off itself
    process, url = spawn_server(tiny_model_dir, env)
    try:
        health_while_loading = False
        deadline = time.monotonic() + 300  # generous: busy shared machines load slowly
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                health = httpx.get(f"{url}/healthz", timeout=30)
                ready = httpx.get(f"{url}/readyz", timeout=30)
            except httpx.TransportError:
                health = ready = None
            if ready is not None:
                assert health.status_code == 200
                if ready.status_code == 200:
                    break
                assert ready.json()["checks"]["model"] == "loading", ready.text
                health_while_loading = True
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.05)
        # /healthz answers while the model loads (the docs' promise), /readyz is 503 until loaded
        assert health_while_loading

        # first: afterwards the timed-out request's batch still holds the model for a while
        served = httpx.post(f"{url}/rerank", json={"query": QUERY, "texts": [ON_TOPIC]}, timeout=60)
        assert served.status_code == 200
        long_texts = [
            f"Passage {i}. " + "A long passage about resetting a password by email. " * 25 for i in range(300)
        ]
        timed_out = httpx.post(
            f"{url}/v1/rerank", json={"query": QUERY, "documents": long_texts}, timeout=120
        )
        assert timed_out.status_code == 503
        refused = httpx.post(f"{url}/rerank", json={"query": QUERY * 100, "texts": [ON_TOPIC]}, timeout=60)
        assert refused.status_code == 422
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=300)[0].decode()

    assert "\r" not in output and not re.search(r"\d+it/s|Loading weights", output), output
    lines = _log_lines(output)
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"]), line
        assert line["level"] in {"debug", "info", "warning", "error", "critical"}, line
    ready_lines = [line for line in lines if line["msg"] == "model loaded, ready"]
    assert len(ready_lines) == 1 and ready_lines[0]["level"] == "info"
    assert ready_lines[0]["model"] == tiny_model_dir
    assert (
        ready_lines[0]["backend"] == "onnx" and ready_lines[0]["device"] == "cpu"
    )  # what "auto" resolved to

    def about(response: httpx.Response) -> list[dict]:
        return [line for line in lines if line.get("request_id") == response.headers["x-request-id"]]

    (timeout_line,) = about(timed_out)
    assert timeout_line["level"] == "warning" and timeout_line["msg"] == "request timed out"
    assert timeout_line["route"] == "/v1/rerank" and timeout_line["status"] == 503
    assert timeout_line["reason"] == "timeout" and timeout_line["documents"] == 300
    assert timeout_line["latency_ms"] >= 300
    (refused_line,) = about(refused)
    assert refused_line["level"] == "warning" and refused_line["reason"] == "limit"
    assert (
        refused_line["route"] == "/rerank"
        and refused_line["status"] == 422
        and refused_line["documents"] == 1
    )
    assert about(served) == []  # served requests are debug lines, not shown at info
