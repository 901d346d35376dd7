"""What one service instance holds, and the one way its routes score: ``ServiceState``.

The routers (``server/routes/``) are module-level and shared by every app; each request
finds its own app's state through the ``service_state`` dependency. Scoring goes through
``ServiceState.score`` only, so every endpoint that reranks (``/v1/rerank``, ``/v2/rerank``,
TEI ``/rerank`` and the rerank step of ``/v1/answer``) shares the batcher, its queue limit,
admission control, the request timeout and client-gone cancellation.

Example:
    ```python
    from fastapi import APIRouter, Request
    from crossrank.server.state import State

    router = APIRouter()

    @router.post("/v1/score")
    async def score(request: Request, state: State) -> list[float]:
        scores = await state.score(request, "query", ["a passage"])
        return [s.probability for s in scores]
    ```
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, HTTPException, Request

from crossrank.scores import Score
from crossrank.server.batcher import (
    BatcherClosedError,
    DeadlineExceededError,
    DynamicBatcher,
    QueueFullError,
    TooMuchWorkError,
)
from crossrank.server.metrics import ServiceMetrics, request_info
from crossrank.server.settings import ServerSettings

if TYPE_CHECKING:
    # Imported where the model loads, in the loading thread: transformers and torch take
    # seconds to import, and the server must answer /healthz meanwhile.
    from crossrank.scorer import CrossEncoderScorer
    from crossrank.server.answer import AnswerService

log = logging.getLogger("crossrank.server")


class ClientGone(Exception):
    """The client closed the connection before its scores were ready."""


@dataclass
class ServiceState:
    """Everything one app instance holds; reachable as ``app.state.crossrank``.

    Args:
        settings: The service's configuration.
        metrics: Its Prometheus metrics.
        scorer: The loaded scorer (given up front, or set when the background load ends).
        answer: The ``/v1/answer`` service when answering is on.
    """

    settings: ServerSettings
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    scorer: CrossEncoderScorer | None = None
    batcher: DynamicBatcher | None = None
    load_error: str | None = None
    answer: AnswerService | None = None
    loop: asyncio.AbstractEventLoop | None = None  # the serving loop, for signal handlers

    @property
    def model_name(self) -> str | None:
        """The loaded model's name, or the configured one while it loads."""
        return self.scorer.model_name if self.scorer is not None else self.settings.model

    def shutdown_grace_s(self) -> float:
        """How long requests may still finish after a stop signal: a second (or a fifth) inside the graceful timeout."""
        total = self.settings.graceful_shutdown_s
        return max(0.0, total - min(1.0, total / 5))

    def request_shutdown(self) -> None:
        """Safe from a signal handler: take no new work; answer 503 to what is left at ``shutdown_grace_s``.

        uvicorn cuts the connections still open when ``graceful_shutdown_s`` runs out (the
        client sees a bare 500 or a reset); answering first keeps every reply a JSON 503.
        """
        if self.loop is None or self.loop.is_closed():
            return

        def begin() -> None:
            if self.batcher is not None:
                self.batcher.begin_shutdown(self.shutdown_grace_s())

        self.loop.call_soon_threadsafe(begin)

    async def start_batcher(self, loaded: CrossEncoderScorer) -> None:
        """Build the batcher, measure the model's speed on a warm-up batch, start it, report ready."""
        settings = self.settings
        self.scorer = loaded
        batcher = DynamicBatcher(
            loaded,
            max_batch_size=settings.max_batch_size,
            max_batch_tokens=settings.max_batch_tokens,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            admit_fraction=settings.admit_fraction or None,
            on_batch=self.metrics.record_batch,
        )
        await batcher.warm_up()  # first-call costs, and the speed admission control needs
        await batcher.start()
        self.batcher = batcher
        self.metrics.model_ready.set(1)

    async def load_model(self) -> None:
        """Load ``settings.model`` in a worker thread and start the batcher; a failure is kept for /readyz."""
        settings = self.settings
        log.info(
            "loading the model",
            extra={
                "fields": {"model": settings.model, "backend": settings.backend, "device": settings.device}
            },
        )
        started = time.perf_counter()
        try:
            loaded = await asyncio.to_thread(load_scorer, settings)
        except Exception as exc:  # noqa: BLE001 - reported by /readyz and every rerank call, not swallowed
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error(
                "could not load the model; /readyz stays 503",
                extra={"fields": {"model": settings.model, "error": self.load_error}},
            )
            return
        await self.start_batcher(loaded)
        log.info(
            "model loaded, ready",
            extra={
                "fields": {
                    "model": loaded.model_name,
                    "backend": loaded.backend.name,  # what "auto" resolved to
                    "device": loaded.backend.device,
                    "load_s": round(time.perf_counter() - started, 2),
                }
            },
        )

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """The app's lifespan: start the batcher (loading the model unless one was given) and the answer service."""
        self.metrics.watch(
            lambda: 0 if self.batcher is None else self.batcher.queue_depth,
            lambda: None if self.scorer is None else self.scorer.cache_info(),
        )
        self.loop = asyncio.get_running_loop()
        loader: asyncio.Task[None] | None = None
        if self.scorer is not None:
            await self.start_batcher(self.scorer)
        else:
            loader = asyncio.create_task(self.load_model())
        if self.answer is not None:
            await self.answer.start()
        try:
            yield
        finally:
            # uvicorn runs this after in-flight requests finished (or the graceful timeout passed).
            if loader is not None and not loader.done():
                loader.cancel()
            if self.batcher is not None:
                # uvicorn has already waited graceful_shutdown_s for requests; what is still
                # queued has no caller left, so the drain is short (the slice running ends it).
                await self.batcher.stop(drain=True, timeout=1.0)
            if self.answer is not None:
                await self.answer.stop()

    async def score(self, request: Request, query: str, texts: list[str]) -> list[Score]:
        """Score through the batcher, with the timeout, backpressure and cancellation rules.

        Refusals are counted and logged once, by the metrics middleware; this only names
        the reason where the status alone does not tell (503: loading, closing, timed out).
        """
        settings = self.settings
        info = request_info(request.scope)
        batcher = self.batcher
        if batcher is None or not batcher.running:
            info.reason = "not_ready"
            if self.load_error is not None:
                raise HTTPException(503, f"the model could not be loaded: {self.load_error}")
            raise HTTPException(
                503, "the model is still loading; retry when /readyz says ready", headers={"Retry-After": "5"}
            )
        # The batcher gets the deadline too, so a request still queued when it passes is dropped
        # unscored even if this coroutine has not woken up to cancel it yet (a busy loop).
        deadline = time.perf_counter() + settings.request_timeout_s
        scoring = asyncio.ensure_future(batcher.submit(query, texts, deadline=deadline))
        watcher = asyncio.ensure_future(_until_client_gone(request))
        try:
            done, _ = await asyncio.wait(
                {scoring, watcher}, timeout=settings.request_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            watcher.cancel()
        if scoring in done:
            try:
                return scoring.result()
            except QueueFullError as exc:
                info.reason = exc.reason
                raise HTTPException(
                    429,
                    f"too many requests: {exc}; retry later",
                    headers={"Retry-After": str(math.ceil(exc.retry_after_s))},
                ) from None
            except TooMuchWorkError as exc:
                info.reason = "too_much_work"
                raise HTTPException(
                    413,
                    f"{exc} (CROSSRANK_SERVER_REQUEST_TIMEOUT_S={settings.request_timeout_s:g}): send fewer or "
                    "shorter documents per request, or raise the timeout",
                ) from None
            except BatcherClosedError as exc:
                info.reason = "shutting_down"
                raise HTTPException(503, f"not scoring: {exc}", headers={"Retry-After": "5"}) from None
            except DeadlineExceededError:
                pass  # the batcher saw the deadline pass first: the same 503 as below
        else:
            scoring.cancel()  # removes the request from the queue (or discards its scores mid-batch)
            if watcher in done:
                raise ClientGone()
        info.reason = "timeout"
        raise HTTPException(
            503,
            f"request timed out after {settings.request_timeout_s:g} s waiting for the model "
            "(CROSSRANK_SERVER_REQUEST_TIMEOUT_S); the server is overloaded, retry later",
            headers={"Retry-After": "1"},
        )


async def service_state(request: Request) -> ServiceState:
    """FastAPI dependency: the state of the app serving this request.

    ``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a
    thread hop per request that competes with the model's thread for the cores.
    """
    state: ServiceState = request.app.state.crossrank
    return state


async def _until_client_gone(request: Request) -> None:
    # The body is already read, so the next ASGI message is the disconnect.
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
        await asyncio.sleep(0.05)


def load_scorer(settings: ServerSettings) -> CrossEncoderScorer:
    """Import the scoring stack and load the model (runs in a worker thread)."""
    from crossrank.scorer import CrossEncoderScorer
    from crossrank.server.logs import adopt_library_logging

    adopt_library_logging()
    return CrossEncoderScorer(
        settings.model,
        backend=settings.backend,
        device=settings.device,
        batch_size=settings.batch_size,
        max_length=settings.max_length,
        cache_size=settings.cache_size,
    )


State = Annotated[ServiceState, Depends(service_state)]
"""A route's parameter type for its app's state: ``async def route(..., state: State)``."""
