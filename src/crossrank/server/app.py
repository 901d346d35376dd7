"""The FastAPI app: rerank (Cohere and TEI shapes), answer, health, readiness, metrics.

``create_app(settings)`` builds one app around one shared ``CrossEncoderScorer`` and
one ``DynamicBatcher``. The model loads in the background at startup, so
``/healthz`` answers at once and ``/readyz`` turns ready when the model is in.

Example:
    ```python
    from crossrank.server import ServerSettings, create_app
    app = create_app(ServerSettings(model="/models/my-reranker"))
    sorted(r.path for r in app.routes if r.path.startswith("/v1"))
    # -> ['/v1/rerank']
    ```

Run it with ``crossrank serve`` or any ASGI server:
``uvicorn --factory crossrank.server:app_from_env``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crossrank.policy import RelevancePolicy, RerankResult, parse_threshold
from crossrank.scores import Score
from crossrank.server.batcher import (
    BatcherClosedError,
    DeadlineExceededError,
    DynamicBatcher,
    QueueFullError,
    TooMuchWorkError,
)
from crossrank.server.bodies import StrictJsonRoute
from crossrank.server.errors import BodyLimitMiddleware, LimitExceeded, error_response, install_error_handlers
from crossrank.server.metrics import MetricsMiddleware, ServiceMetrics, request_info
from crossrank.server.responses import cohere_rerank_body, tei_ranks
from crossrank.server.schemas import (
    CohereRerankRequest,
    CohereRerankResponse,
    ErrorBody,
    Health,
    Readiness,
    TeiRank,
    TeiRerankRequest,
)
from crossrank.server.settings import ServerSettings

if TYPE_CHECKING:
    # Imported where the model loads, in the loading thread: transformers and torch take
    # seconds to import, and the server must answer /healthz meanwhile.
    from crossrank.scorer import CrossEncoderScorer

log = logging.getLogger("crossrank.server")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not valid JSON."},
    401: {"model": ErrorBody, "description": "The server has an API key and the request did not send it."},
    413: {
        "model": ErrorBody,
        "description": "The body is larger than CROSSRANK_SERVER_MAX_BODY_BYTES, or the request needs more "
        "model time than CROSSRANK_SERVER_REQUEST_TIMEOUT_S allows.",
    },
    415: {"model": ErrorBody, "description": "The body is not sent as application/json."},
    422: {
        "model": ErrorBody,
        "description": "A field is missing, has the wrong type, breaks a limit, or holds a non-finite "
        "number or invalid Unicode.",
    },
    429: {
        "model": ErrorBody,
        "description": "The batch queue is full, or the work queued ahead would not be done before the "
        "request timeout; retry after the Retry-After seconds.",
    },
    503: {"model": ErrorBody, "description": "Timed out, model still loading, or shutting down."},
}


@dataclass
class ServiceState:
    """Everything one app instance holds; reachable as ``app.state.crossrank``."""

    settings: ServerSettings
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    scorer: CrossEncoderScorer | None = None
    batcher: DynamicBatcher | None = None
    load_error: str | None = None
    answer: Any = None  # crossrank.server.answer.AnswerService when /v1/answer is enabled
    loop: asyncio.AbstractEventLoop | None = None  # the serving loop, for signal handlers

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


class ClientGone(Exception):
    """The client closed the connection before its scores were ready."""


def _policy_from(settings: ServerSettings, req: CohereRerankRequest) -> RelevancePolicy:
    min_keep = settings.min_keep if req.min_keep is None else req.min_keep
    if req.top_n is not None and min_keep > req.top_n:
        where = "min_keep" if req.min_keep is not None else "top_n"
        raise LimitExceeded(
            ("body", where), f"min_keep ({min_keep}) must not exceed top_n ({req.top_n})", "value_error"
        )
    asked = req.min_probability
    return RelevancePolicy(
        top_n=req.top_n,
        min_probability=settings.min_probability if asked is None else parse_threshold(asked),
        min_relative=settings.min_relative if req.min_relative is None else req.min_relative,
        min_keep=min_keep,
    )


def check_limits(settings: ServerSettings, query: str, texts: Sequence[str], field_name: str) -> None:
    """Raise ``LimitExceeded`` naming the field and the setting when a request is too big."""
    if len(query) > settings.max_query_chars:
        raise LimitExceeded(
            ("body", "query"),
            f"query has {len(query)} characters; the limit is {settings.max_query_chars} (CROSSRANK_SERVER_MAX_QUERY_CHARS)",
        )
    if len(texts) > settings.max_documents:
        raise LimitExceeded(
            ("body", field_name),
            f"{len(texts)} documents sent; the limit is {settings.max_documents} per request "
            "(CROSSRANK_SERVER_MAX_DOCUMENTS); split the request",
        )
    for position, text in enumerate(texts):
        if len(text) > settings.max_document_chars:
            raise LimitExceeded(
                ("body", field_name, position),
                f"document has {len(text)} characters; the limit is {settings.max_document_chars} "
                "(CROSSRANK_SERVER_MAX_DOCUMENT_CHARS)",
            )
    total = len(query) + sum(len(t) for t in texts)
    if total > settings.max_request_chars:
        raise LimitExceeded(
            ("body", field_name),
            f"query and documents have {total} characters together; the limit is {settings.max_request_chars} "
            "per request (CROSSRANK_SERVER_MAX_REQUEST_CHARS)",
        )


async def _until_client_gone(request: Request) -> None:
    # The body is already read, so the next ASGI message is the disconnect.
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
        await asyncio.sleep(0.05)


def create_app(
    settings: ServerSettings | None = None,
    *,
    scorer: CrossEncoderScorer | None = None,
    answer_service: Any = None,
) -> FastAPI:
    """Build the service.

    Args:
        settings: Configuration; ``None`` reads ``CROSSRANK_SERVER_*`` environment variables.
        scorer: An already loaded scorer to share (tests, Ray Serve); ``None`` loads
            ``settings.model`` in the background at startup.
        answer_service: A ready ``AnswerService`` for ``/v1/answer``; ``None`` builds
            one from the RAG settings when ``settings.answer_enabled``.

    Example:
        ```python
        app = create_app(ServerSettings(max_batch_size=32, api_key="s3cret"))
        app.title
        # -> 'crossrank'
        ```
    """
    settings = settings or ServerSettings()
    longest = max(settings.request_timeout_s, settings.answer_timeout_s if settings.answer_enabled else 0.0)
    state = ServiceState(settings=settings, metrics=ServiceMetrics(longest_timeout_s=longest))
    if answer_service is None and settings.answer_enabled:
        from crossrank.server.answer import AnswerService

        answer_service = AnswerService.from_settings(settings)
    state.answer = answer_service

    async def start_batcher(loaded: CrossEncoderScorer) -> None:
        """Build the batcher, measure the model's speed on a warm-up batch, start it, report ready."""
        state.scorer = loaded
        batcher = DynamicBatcher(
            loaded,
            max_batch_size=settings.max_batch_size,
            max_batch_tokens=settings.max_batch_tokens,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            admit_fraction=settings.admit_fraction or None,
            on_batch=state.metrics.record_batch,
        )
        await batcher.warm_up()  # first-call costs, and the speed admission control needs
        await batcher.start()
        state.batcher = batcher
        state.metrics.model_ready.set(1)

    async def load_model() -> None:
        log.info(
            "loading the model",
            extra={
                "fields": {"model": settings.model, "backend": settings.backend, "device": settings.device}
            },
        )
        started = time.perf_counter()
        try:
            loaded = await asyncio.to_thread(_load_scorer, settings)
        except Exception as exc:  # noqa: BLE001 - reported by /readyz and every rerank call, not swallowed
            state.load_error = f"{type(exc).__name__}: {exc}"
            log.error(
                "could not load the model; /readyz stays 503",
                extra={"fields": {"model": settings.model, "error": state.load_error}},
            )
            return
        await start_batcher(loaded)
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
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.metrics.watch(
            lambda: 0 if state.batcher is None else state.batcher.queue_depth,
            lambda: None if state.scorer is None else state.scorer.cache_info(),
        )
        state.loop = asyncio.get_running_loop()
        loader: asyncio.Task[None] | None = None
        if scorer is not None:
            await start_batcher(scorer)
        else:
            loader = asyncio.create_task(load_model())
        if state.answer is not None:
            await state.answer.start()
        try:
            yield
        finally:
            # uvicorn runs this after in-flight requests finished (or the graceful timeout passed).
            if loader is not None and not loader.done():
                loader.cancel()
            if state.batcher is not None:
                # uvicorn has already waited graceful_shutdown_s for requests; what is still
                # queued has no caller left, so the drain is short (the slice running ends it).
                await state.batcher.stop(drain=True, timeout=1.0)
            if state.answer is not None:
                await state.answer.stop()

    app = FastAPI(
        title="crossrank",
        version=_version(),
        summary="Cross-encoder reranking with a relevance gate, for RAG.",
        description=(
            "Rerank documents against a query (Cohere and text-embeddings-inference request shapes), "
            "gate them by relevance, and answer questions over a Qdrant collection. "
            "See docs/server.md."
        ),
        lifespan=lifespan,
    )
    app.state.crossrank = state
    # Every route with a body accepts strict JSON only (415, or 422 naming a NaN or a lone surrogate).
    app.router.route_class = StrictJsonRoute
    install_error_handlers(app)

    bearer = HTTPBearer(auto_error=False, description="The server's CROSSRANK_SERVER_API_KEY.")

    async def check_api_key(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:  # noqa: B008 - FastAPI's idiom
        assert settings.api_key is not None
        expected = settings.api_key.get_secret_value().encode()
        if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(  # counted and logged as "unauthorized" by the metrics middleware
                401,
                "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def open_access() -> None:
        return None

    # The OpenAPI schema declares Bearer auth only when the server really requires it.
    require_api_key = check_api_key if settings.api_key is not None else open_access

    async def score(request: Request, query: str, texts: list[str]) -> list[Score]:
        """Score through the batcher, with the timeout, backpressure and cancellation rules.

        Refusals are counted and logged once, by the metrics middleware; this only names
        the reason where the status alone does not tell (503: loading, closing, timed out).
        """
        info = request_info(request.scope)
        if state.batcher is None or not state.batcher.running:
            info.reason = "not_ready"
            if state.load_error is not None:
                raise HTTPException(503, f"the model could not be loaded: {state.load_error}")
            raise HTTPException(
                503, "the model is still loading; retry when /readyz says ready", headers={"Retry-After": "5"}
            )
        # The batcher gets the deadline too, so a request still queued when it passes is dropped
        # unscored even if this coroutine has not woken up to cancel it yet (a busy loop).
        deadline = time.perf_counter() + settings.request_timeout_s
        scoring = asyncio.ensure_future(state.batcher.submit(query, texts, deadline=deadline))
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

    @app.exception_handler(ClientGone)
    async def _gone(request: Request, exc: ClientGone) -> Response:
        # Nobody reads this answer; 499 is the nginx convention for "client closed request".
        return error_response(499, "client closed the request before it was scored")

    def cohere_document(doc: Any) -> dict[str, Any]:
        return {"text": doc} if isinstance(doc, str) else doc.model_dump()

    @app.post(
        "/v1/rerank",
        response_model=CohereRerankResponse,
        response_model_exclude_unset=True,
        responses=_ERRORS,
        dependencies=[Depends(require_api_key)],
        tags=["rerank"],
        summary="Rerank documents (Cohere rerank shape) and gate them by relevance",
    )
    async def rerank_cohere(body: CohereRerankRequest, request: Request) -> dict[str, Any]:
        texts = body.texts()
        info = request_info(request.scope)
        info.documents = len(texts)
        check_limits(settings, body.query, texts, "documents")
        policy = _policy_from(settings, body)
        scores = await score(request, body.query, texts)
        result: RerankResult = policy.apply(
            body.query, texts, scores, recommended=state.scorer.recommended_gate if state.scorer else None
        )
        # The path the client called (/v1/rerank or /v2/rerank: one handler serves both).
        route = getattr(request.scope.get("route"), "path", request.url.path)
        state.metrics.verdicts.labels(endpoint=route, verdict=result.verdict.value).inc()
        return cohere_rerank_body(
            result,
            model=state.scorer.model_name if state.scorer else None,
            request_id=info.request_id,  # the middleware sends it back as X-Request-Id too
            documents=[cohere_document(d) for d in body.documents] if body.return_documents else None,
        )

    app.add_api_route(
        "/v2/rerank",
        rerank_cohere,
        methods=["POST"],
        response_model=CohereRerankResponse,
        response_model_exclude_unset=True,
        responses=_ERRORS,
        dependencies=[Depends(require_api_key)],
        tags=["rerank"],
        summary="Same as /v1/rerank (the path Cohere's v2 client calls)",
    )

    @app.post(
        "/rerank",
        response_model=list[TeiRank],
        response_model_exclude_none=True,
        responses=_ERRORS,
        dependencies=[Depends(require_api_key)],
        tags=["rerank"],
        summary="Rerank texts (text-embeddings-inference shape)",
    )
    async def rerank_tei(body: TeiRerankRequest, request: Request) -> list[dict[str, Any]]:
        request_info(request.scope).documents = len(body.texts)
        check_limits(settings, body.query, body.texts, "texts")
        scores = await score(request, body.query, body.texts)
        return tei_ranks(scores, body.texts, raw_scores=body.raw_scores, return_text=body.return_text)

    @app.get("/healthz", response_model=Health, tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready; checks say why."}},
        tags=["operations"],
        summary="The model is loaded (and Qdrant reachable when /v1/answer is on)",
    )
    async def readyz(response: Response) -> dict[str, Any]:
        checks: dict[str, str] = {}
        if state.batcher is not None and state.batcher.running:
            checks["model"] = "ok"
        elif state.load_error is not None:
            checks["model"] = f"failed to load: {state.load_error}"
        else:
            checks["model"] = "loading"
        if state.answer is not None:
            checks.update(await state.answer.check(settings.readiness_timeout_s))
        ready = all(v == "ok" for v in checks.values())
        if not ready:
            response.status_code = 503
        return {
            "status": "ready" if ready else "not ready",
            "model": state.scorer.model_name if state.scorer else settings.model,
            "checks": checks,
        }

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
    )
    async def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    if state.answer is not None:
        from crossrank.server.answer import install_answer_route

        install_answer_route(app, state, require_api_key, _ERRORS, score)

    known_paths = {getattr(r, "path", "") for r in app.routes}
    # Oversize bodies are refused before anything reads them; the metrics middleware is
    # added last so it is outermost and also counts those 413 answers.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Refusals are counted for the endpoints that score; a 404 or a 503 of /readyz is no refusal.
    rejecting = {p for p in known_paths if p in {"/v1/rerank", "/v2/rerank", "/rerank", "/v1/answer"}}
    app.add_middleware(
        MetricsMiddleware, metrics=state.metrics, endpoints=lambda: known_paths, rejecting=lambda: rejecting
    )
    return app


def app_from_env() -> FastAPI:
    """An app configured from ``CROSSRANK_SERVER_*`` environment variables (for ``uvicorn --factory``).

    Example:
        $ CROSSRANK_SERVER_MODEL=/models/reranker uvicorn --factory crossrank.server:app_from_env --port 8080
    """
    from logging.config import dictConfig

    from crossrank.server.logs import log_config, own_the_process

    settings = ServerSettings()
    # This process is a server (uvicorn --factory): JSON log lines, no progress bars.
    dictConfig(log_config(settings.log_level, whole_process=True))
    own_the_process()
    return create_app(settings)


def _load_scorer(settings: ServerSettings) -> CrossEncoderScorer:
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


def _version() -> str:
    from crossrank import __version__

    return __version__
