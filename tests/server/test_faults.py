"""Faults against real servers: each gives its documented status and the server keeps serving.

Timeouts (503), a full queue (429), a client that hangs up mid-batch, and graceful
shutdown with requests in flight (both in-process and ``python -m crossrank.server``
under SIGTERM).
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time

import httpx
import pytest
from server_helpers import run_server, spawn_server, updated, wait_process_ready, wait_ready
from tiny_model import QA

from crossrank.server import ServerSettings

QUERY, ON_TOPIC, OFF_TOPIC = QA[0]
LONG_TEXT = "The login page offers a link to reset a forgotten password by email. " * 20  # ~1400 chars


def _long_texts(n: int) -> list[str]:
    """``n`` distinct long passages: the scorer scores identical texts once, so copies would be free."""
    return [f"Passage {i}. {LONG_TEXT}" for i in range(n)]


def _big_settings(base: ServerSettings, **update) -> ServerSettings:
    limits = {
        "max_documents": 1000,
        "max_document_chars": 5_000,
        "max_request_chars": 2_000_000,
        "max_body_bytes": 5_000_000,
    }
    return updated(base, **{**limits, **update})


def _serves(url: str, scorer, deadline_s: float = 300.0) -> None:
    """The server answers a normal request correctly again within the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        response = httpx.post(
            f"{url}/rerank", json={"query": QUERY, "texts": [ON_TOPIC, OFF_TOPIC]}, timeout=60
        )
        if response.status_code == 200:
            assert [r["index"] for r in response.json()] == [0, 1]
            want = scorer.score(QUERY, [ON_TOPIC])[0].probability
            assert math.isclose(response.json()[0]["score"], want, abs_tol=1e-4)
            return
        assert response.status_code == 503 and time.monotonic() < deadline, response.text
        time.sleep(0.1)


def _burst(running, requests: int, texts: list[str]) -> tuple[list[httpx.Response], float, float]:
    """Send ``requests`` distinct requests at once; their responses and the documents scored and
    delivered meanwhile, read after the queue has drained."""

    def request(n: int) -> dict:
        return {"query": QUERY, "texts": [f"{n}: {t}" for t in texts]}  # distinct: nothing cached

    async def send() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=running.url, timeout=300) as http:
            return await asyncio.gather(*(http.post("/rerank", json=request(n)) for n in range(requests)))

    scored_before = running.metric("crossrank_documents_scored_total")
    delivered_before = running.metric("crossrank_documents_delivered_total")
    responses = asyncio.run(send())
    _drain(running)
    scored = running.metric("crossrank_documents_scored_total") - scored_before
    delivered = running.metric("crossrank_documents_delivered_total") - delivered_before
    return responses, scored, delivered


def _drain(running) -> None:
    """Wait until nothing is queued or on the model (a timed-out request may still be)."""
    batcher = running.state.batcher
    deadline = time.monotonic() + 300
    while batcher.queue_depth or batcher._busy:
        assert time.monotonic() < deadline, "the queue never drained"
        time.sleep(0.05)


def _sizing_requests_s(running, texts: list[str], allowed: tuple[int, ...]) -> float:
    """Seconds per request of ``texts``, from two sent one after the other (distinct from the burst's)."""
    started = time.perf_counter()
    for n in (-1, -2):
        payload = {"query": QUERY, "texts": [f"{n}: {t}" for t in texts]}
        assert httpx.post(f"{running.url}/rerank", json=payload, timeout=300).status_code in allowed
    return (time.perf_counter() - started) / 2


def test_timeout_is_503_with_a_reason(server_settings: ServerSettings, scorer) -> None:
    # Admission control off: it would refuse this request at once (413, tested below).
    settings = _big_settings(server_settings, request_timeout_s=0.3, max_batch_size=1024, admit_fraction=0)
    with run_server(settings) as running:
        wait_ready(running.url)
        response = httpx.post(
            f"{running.url}/v1/rerank", json={"query": QUERY, "documents": _long_texts(300)}, timeout=60
        )
        assert response.status_code == 503
        assert "timed out after 0.3 s" in response.json()["message"]
        assert "CROSSRANK_SERVER_REQUEST_TIMEOUT_S" in response.json()["message"]
        assert response.headers["retry-after"] == "1"
        _serves(running.url, scorer)
        assert running.metric("crossrank_rejected_requests_total", reason="timeout") >= 1


def test_after_a_burst_of_timeouts_their_queued_work_is_not_scored(
    server_settings: ServerSettings, scorer
) -> None:
    # A burst worth about three timeouts of model work: most requests time out while queued.
    # Their queued work must be withdrawn: only batches in flight when they time out may be
    # scored for nobody, which scored minus delivered documents shows.
    # Admission control off: this is about requests that were admitted and then timed out.
    settings = _big_settings(
        server_settings,
        request_timeout_s=2.0,
        max_batch_size=16,
        max_wait_ms=0,
        max_queue=1000,
        admit_fraction=0,
    )
    with run_server(settings) as running:
        wait_ready(running.url)
        texts = _long_texts(8)
        # One full batch (two requests) sizes the burst. On a loaded machine these may time
        # out too (503); the time they took still sizes it.
        batch_s = _sizing_requests_s(running, texts, allowed=(200, 503))
        requests = 2 * min(200, math.ceil(3 * settings.request_timeout_s / batch_s))
        _drain(running)
        responses, scored, delivered = _burst(running, requests, texts)
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {200, 503} and 503 in statuses, statuses
        answered = len(texts) * statuses.count(200)
        assert answered <= delivered <= scored, (answered, delivered, scored)
        # Queued work of a timed-out request is withdrawn, so only batches already on the model
        # when a deadline passed are scored for nobody. The deadlines are spread over the time the
        # burst takes to send (client and server share this process), so allow two such batches,
        # or a tenth of the timed-out documents where a loaded machine spreads them further;
        # without the withdrawal nearly all the timed-out documents would be scored.
        timed_out_documents = len(texts) * statuses.count(503)
        allowed = max(2 * settings.max_batch_size, 0.1 * timed_out_documents)
        assert scored - delivered <= allowed, (scored, delivered, statuses.count(200), timed_out_documents)
        _serves(running.url, scorer)


def test_overload_is_a_quick_429_not_a_503_after_the_timeout(server_settings: ServerSettings, scorer) -> None:
    # A burst worth about three timeouts of model work, with admission control on (the
    # default): what cannot be scored in time is refused at once with 429 and a Retry-After,
    # instead of waiting the whole timeout for a 503; nothing refused reaches the model.
    settings = _big_settings(
        server_settings, request_timeout_s=4.0, max_batch_size=16, max_wait_ms=0, max_queue=1000
    )
    with run_server(settings) as running:
        wait_ready(running.url)
        texts = _long_texts(8)
        # Two requests one after the other size the burst (and show the model's speed on them).
        request_s = _sizing_requests_s(running, texts, allowed=(200,))
        requests = min(400, math.ceil(3 * settings.request_timeout_s / request_s))
        responses, scored, delivered = _burst(running, requests, texts)
        statuses = [r.status_code for r in responses]
        refused = [r for r in responses if r.status_code == 429]
        assert set(statuses) <= {200, 429, 503} and 200 in statuses and refused, statuses
        # An admitted request can still miss its deadline when the machine slows down after
        # it was admitted; without admission control about two in three were 503s.
        assert statuses.count(503) < len(refused), statuses
        assert "would wait about" in refused[0].json()["message"]
        assert int(refused[0].headers["retry-after"]) >= 1
        assert running.metric("crossrank_rejected_requests_total", reason="overloaded") == len(refused)
        assert len(texts) * statuses.count(200) <= delivered <= scored
        assert scored - delivered <= settings.max_batch_size, (scored, delivered, statuses)
        _serves(running.url, scorer)


def test_a_request_too_big_for_the_timeout_is_a_quick_413(server_settings: ServerSettings, scorer) -> None:
    # Its own work is about 100 times the timeout: it would time out on an idle server, so
    # it is refused before it reaches the model, with a status clients do not retry.
    settings = _big_settings(server_settings, request_timeout_s=0.3, max_batch_size=1024)
    with run_server(settings) as running:
        wait_ready(running.url)
        scored_before = running.metric("crossrank_documents_scored_total")
        response = httpx.post(
            f"{running.url}/v1/rerank", json={"query": QUERY, "documents": _long_texts(300)}, timeout=60
        )
        assert response.status_code == 413, response.text
        message = response.json()["message"]
        assert "needs about" in message and "CROSSRANK_SERVER_REQUEST_TIMEOUT_S=0.3" in message, message
        assert "retry-after" not in response.headers
        assert running.metric("crossrank_documents_scored_total") == scored_before
        assert running.metric("crossrank_rejected_requests_total", reason="too_much_work") == 1
        _serves(running.url, scorer)


def test_full_queue_is_429_and_the_rest_are_served(server_settings: ServerSettings, scorer) -> None:
    settings = _big_settings(server_settings, max_queue=1, max_batch_size=1, max_wait_ms=0, admit_fraction=0)
    with run_server(settings) as running:
        wait_ready(running.url)

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=running.url, timeout=60) as http:
                return await asyncio.gather(
                    *(http.post("/rerank", json={"query": QUERY, "texts": _long_texts(4)}) for _ in range(10))
                )

        responses = asyncio.run(burst())
        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {200, 429} and 429 in statuses and 200 in statuses, statuses
        refused = next(r for r in responses if r.status_code == 429)
        assert "retry later" in refused.json()["message"] and refused.headers["retry-after"] == "1"
        _serves(running.url, scorer)
        assert running.metric("crossrank_rejected_requests_total", reason="queue_full") == statuses.count(429)


def test_client_hanging_up_mid_batch(server_settings: ServerSettings, scorer) -> None:
    # Slices of 64 documents: the small requests take turns with the 300-document one instead of
    # waiting for all of it (which took over the 60 s request timeout on a loaded machine).
    # Admission control off: the 300-document request may be too big for the timeout on a slow
    # machine, and this is about a caller that leaves while its request is on the model.
    settings = _big_settings(server_settings, max_batch_size=64, max_wait_ms=50, admit_fraction=0)
    with run_server(settings) as running:
        wait_ready(running.url)

        async def scenario() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=running.url, timeout=300) as http:

                async def impatient() -> None:
                    with pytest.raises(httpx.TimeoutException):
                        await http.post(
                            "/rerank", json={"query": QUERY, "texts": _long_texts(300)}, timeout=0.5
                        )

                others = [http.post("/rerank", json={"query": q, "texts": [p, n]}) for q, p, n in QA[:6]]
                results = await asyncio.gather(impatient(), *others)
                return list(results[1:])

        for (query, pos, neg), response in zip(QA[:6], asyncio.run(scenario())):
            assert response.status_code == 200, response.text
            want = scorer.score(query, [pos, neg])
            for item in response.json():
                assert math.isclose(item["score"], want[item["index"]].probability, abs_tol=1e-4)
        deadline = time.monotonic() + 300
        while running.metric("crossrank_rejected_requests_total", reason="cancelled") < 1:
            assert time.monotonic() < deadline, "the hang-up was never noticed"
            time.sleep(0.1)
        _serves(running.url, scorer)


def test_graceful_shutdown_finishes_in_flight_requests(server_settings: ServerSettings, scorer) -> None:
    # a generous grace period: on a busy machine the four requests can take over uvicorn's 30 s
    settings = _big_settings(server_settings, max_batch_size=64, max_wait_ms=20, graceful_shutdown_s=300)
    with run_server(settings) as running:
        wait_ready(running.url)

        async def scenario() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=running.url, timeout=300) as http:
                requests = [
                    asyncio.ensure_future(
                        http.post("/rerank", json={"query": QUERY, "texts": _long_texts(40)})
                    )
                    for _ in range(4)
                ]
                deadline = time.monotonic() + 30
                while running.state.batcher.queue_depth == 0 and not running.state.batcher._busy:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.01)
                running.server.should_exit = True  # what uvicorn's SIGTERM handler does
                return await asyncio.gather(*requests)

        responses = asyncio.run(scenario())
        assert [r.status_code for r in responses] == [200] * 4
        running.thread.join(timeout=300)
        assert not running.thread.is_alive()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{running.url}/healthz", timeout=5)


def test_serve_command_drains_on_sigterm(tiny_model_dir: str) -> None:
    env = {
        **os.environ,
        "CROSSRANK_SERVER_MAX_WAIT_MS": "20",
        "CROSSRANK_SERVER_LOG_LEVEL": "warning",
        "CROSSRANK_SERVER_GRACEFUL_SHUTDOWN_S": "300",  # the drain may be slow on a busy machine
    }
    process, url = spawn_server(tiny_model_dir, env)
    try:
        wait_process_ready(process, url)

        async def scenario() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, timeout=300) as http:
                requests = [
                    asyncio.ensure_future(
                        http.post("/rerank", json={"query": QUERY, "texts": _long_texts(40)})
                    )
                    for _ in range(3)
                ]
                await asyncio.sleep(0.3)  # requests are on the wire and being scored
                process.send_signal(signal.SIGTERM)
                return await asyncio.gather(*requests)

        responses = asyncio.run(scenario())
        assert [r.status_code for r in responses] == [200] * 3
        # uvicorn re-raises the signal once it has shut down cleanly, so the exit status is
        # "terminated by SIGTERM" after the drain (0 on older uvicorn versions).
        assert process.wait(timeout=300) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_shutdown_is_bounded_by_its_setting_and_every_reply_is_json(tiny_model_dir: str) -> None:
    # Four 300-document requests are minutes of model work on this machine; with a 3 s
    # graceful period they must end as JSON 503s (or 200s), never a cut connection or a
    # text/plain 500, and the process must exit soon after, not when the work is done.
    env = {
        **os.environ,
        "CROSSRANK_SERVER_LOG_LEVEL": "warning",
        "CROSSRANK_SERVER_GRACEFUL_SHUTDOWN_S": "3",
        "CROSSRANK_SERVER_MAX_DOCUMENTS": "1000",
        "CROSSRANK_SERVER_MAX_DOCUMENT_CHARS": "5000",
        "CROSSRANK_SERVER_MAX_REQUEST_CHARS": "2000000",
        "CROSSRANK_SERVER_MAX_BODY_BYTES": "5000000",
        "CROSSRANK_SERVER_REQUEST_TIMEOUT_S": "600",
    }
    process, url = spawn_server(tiny_model_dir, env)
    try:
        wait_process_ready(process, url)

        async def scenario() -> tuple[list[httpx.Response], float]:
            async with httpx.AsyncClient(base_url=url, timeout=300) as http:
                requests = [
                    asyncio.ensure_future(
                        http.post("/v1/rerank", json={"query": QUERY, "documents": _long_texts(300)})
                    )
                    for _ in range(4)
                ]
                await asyncio.sleep(1.0)  # on the wire and being scored
                process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                return await asyncio.gather(*requests), signalled

        responses, signalled = asyncio.run(scenario())
        for response in responses:
            assert response.headers["content-type"].startswith("application/json"), response.text[:200]
            assert response.status_code in (200, 503), response.text[:200]
        assert 503 in [r.status_code for r in responses]
        assert "shutting down" in next(r for r in responses if r.status_code == 503).text
        process.wait(timeout=120)
        # 3 s of grace plus one batch slice and the interpreter's exit; minutes without the bound.
        assert time.monotonic() - signalled < 60
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
