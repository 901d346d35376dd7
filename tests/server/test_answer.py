"""POST /v1/answer on a real server: answers with sources, refusals, and its faults.

Faults: a generator endpoint that never answers (the pipeline's generation timeout
gives 200 with ``answered: false`` and the sources; the server's own answer deadline
gives 503), and a Qdrant server that is not there (503 from /v1/answer and /readyz,
while /v1/rerank keeps serving).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from server_helpers import run_server, updated, wait_ready
from tiny_model import QA

from crossrank.server import ServerSettings
from crossrank.server.answer import AnswerService

QUESTION, POSITIVE, _ = QA[0]


@pytest.fixture(scope="module")
def answer_server(server_settings: ServerSettings, rag_corpus):
    with run_server(server_settings, answer_service=AnswerService(rag_corpus)) as running:
        body = wait_ready(running.url)
        assert body["checks"] == {"model": "ok", "qdrant": "ok"}
        yield running


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An OpenAI-compatible base URL whose server accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join(timeout=5)
    for conn in accepted:
        conn.close()
    listener.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_relevant_question_is_answered_with_sources(answer_server) -> None:
    response = httpx.post(
        f"{answer_server.url}/v1/answer", json={"question": QUESTION, "include_trace": True}, timeout=120
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verdict"] == "relevant" and body["answered"] is True
    assert POSITIVE in body["sources"][0]["text"] and body["sources"][0]["number"] == 1
    assert "[1]" in body["answer"] and body["generator"] == "extractive"
    assert body["trace"]["candidates"] and "rerank" in body["trace"]["timings_ms"]


def test_answers_rerank_through_the_servers_batcher(answer_server) -> None:
    # The batcher is the only place that counts scored documents and batched requests:
    # an answer that bypassed it (its own model call) would leave both unchanged.
    documents = answer_server.metric("crossrank_documents_scored_total")
    requests = answer_server.metric("crossrank_batch_requests_count")
    body = httpx.post(
        f"{answer_server.url}/v1/answer", json={"question": QUESTION, "include_trace": True}, timeout=120
    ).json()
    candidates = len(body["trace"]["candidates"])
    assert candidates > 0
    assert answer_server.metric("crossrank_documents_scored_total") == documents + candidates
    assert answer_server.metric("crossrank_batch_requests_count") > requests


def test_unrelated_question_is_refused_with_a_reason(answer_server) -> None:
    body = httpx.post(
        f"{answer_server.url}/v1/answer",
        json={"question": QA[-1][0]},
        timeout=120,  # its passage is not ingested
    ).json()
    assert body["verdict"] == "none", body
    assert body["answered"] is False and body["sources"] == [] and "threshold" in body["message"]
    assert "trace" not in body or body["trace"] is None


def test_answer_input_errors(answer_server) -> None:
    blank = httpx.post(f"{answer_server.url}/v1/answer", json={"question": "  "})
    assert blank.status_code == 422 and "question" in blank.json()["message"]
    long = httpx.post(f"{answer_server.url}/v1/answer", json={"question": "x" * 501})
    assert long.status_code == 422 and "CROSSRANK_SERVER_MAX_QUERY_CHARS" in long.json()["message"]


def test_generator_timing_out(server_settings: ServerSettings, rag_corpus, silent_endpoint: str) -> None:
    rag = updated(
        rag_corpus,
        generator="api",
        generator_base_url=silent_endpoint,
        generator_api_key="unused",
        generator_model="any",
        generation_timeout_s=1.0,
    )
    with run_server(server_settings, answer_service=AnswerService(rag)) as running:
        wait_ready(running.url)
        started = time.monotonic()
        response = httpx.post(f"{running.url}/v1/answer", json={"question": QUESTION}, timeout=120)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["answered"] is False and "timed out" in body["generation_error"]
        assert body["sources"], "the relevant passages are still returned"
        assert time.monotonic() - started < 60
        assert (
            httpx.post(f"{running.url}/rerank", json={"query": QUESTION, "texts": [POSITIVE]}).status_code
            == 200
        )

    slow = updated(rag, generation_timeout_s=6.0)  # outlives the 1 s answer deadline
    with run_server(
        updated(server_settings, answer_timeout_s=1.0), answer_service=AnswerService(slow)
    ) as running:
        wait_ready(running.url)
        response = httpx.post(f"{running.url}/v1/answer", json={"question": QUESTION}, timeout=120)
        assert response.status_code == 503
        assert "CROSSRANK_SERVER_ANSWER_TIMEOUT_S" in response.json()["message"]
        assert httpx.get(f"{running.url}/healthz").status_code == 200
        assert (
            httpx.post(f"{running.url}/rerank", json={"query": QUESTION, "texts": [POSITIVE]}).status_code
            == 200
        )


def test_qdrant_unreachable(server_settings: ServerSettings, rag_corpus) -> None:
    port = _closed_port()
    rag = updated(rag_corpus, qdrant_url=f"http://127.0.0.1:{port}", qdrant_timeout_s=1.0)
    with run_server(server_settings, answer_service=AnswerService(rag, retry_s=0.5)) as running:
        deadline = time.monotonic() + 60
        while True:
            ready = httpx.get(f"{running.url}/readyz")
            checks = ready.json()["checks"]
            if checks.get("model") == "ok" and checks["qdrant"].startswith("unavailable"):
                break
            assert time.monotonic() < deadline, checks
            time.sleep(0.1)
        assert ready.status_code == 503 and str(port) in checks["qdrant"]
        answer = httpx.post(f"{running.url}/v1/answer", json={"question": QUESTION})
        assert answer.status_code == 503 and str(port) in answer.json()["message"]
        assert answer.headers["retry-after"] == "5"
        rerank = httpx.post(f"{running.url}/v1/rerank", json={"query": QUESTION, "documents": [POSITIVE]})
        assert rerank.status_code == 200 and rerank.json()["results"][0]["relevance_score"] > 0.5
        assert httpx.get(f"{running.url}/healthz").json() == {"status": "alive"}
