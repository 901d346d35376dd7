"""The FastAPI app: rerank (Cohere and TEI shapes), answer, health, readiness, metrics.

``create_app(settings)`` builds one app around one ``ServiceState`` (the shared
``CrossEncoderScorer``, its ``DynamicBatcher``, the metrics) and includes the routers of
``server/routes/``. The model loads in the background at startup, so ``/healthz``
answers at once and ``/readyz`` turns ready when the model is in.

Example:
    ```python
    from crossrank.server import ServerSettings, create_app
    app = create_app(ServerSettings(model="/models/my-reranker"))
    sorted(p for p in app.openapi()["paths"] if p.startswith("/v1"))
    # -> ['/v1/rerank']
    ```

Run it with ``crossrank serve`` or any ASGI server:
``uvicorn --factory crossrank.server:app_from_env``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request, Response

from crossrank.server.auth import api_key_dependency
from crossrank.server.errors import BodyLimitMiddleware, error_response, install_error_handlers
from crossrank.server.metrics import MetricsMiddleware, ServiceMetrics
from crossrank.server.routes import operations, rerank
from crossrank.server.schemas import ERROR_RESPONSES
from crossrank.server.settings import ServerSettings
from crossrank.server.state import ClientGone, ServiceState

if TYPE_CHECKING:
    from crossrank.scorer import CrossEncoderScorer
    from crossrank.server.answer import AnswerService

# The endpoints whose refusals (4xx/5xx) are counted as rejections; a 404 or a 503 of /readyz is none.
_SCORING_PATHS = frozenset({"/v1/rerank", "/v2/rerank", "/rerank", "/v1/answer"})


def create_app(
    settings: ServerSettings | None = None,
    *,
    scorer: CrossEncoderScorer | None = None,
    answer_service: AnswerService | None = None,
) -> FastAPI:
    """Build the service.

    Args:
        settings: Configuration; ``None`` reads ``CROSSRANK_SERVER_*`` environment variables.
        scorer: An already loaded scorer to share (tests, each Ray Serve replica); ``None`` loads
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
    if answer_service is None and settings.answer_enabled:
        from crossrank.server.answer import AnswerService

        answer_service = AnswerService.from_settings(settings)
    state = ServiceState(
        settings=settings,
        metrics=ServiceMetrics(longest_timeout_s=longest),
        scorer=scorer,
        answer=answer_service,
    )

    app = FastAPI(
        title="crossrank",
        version=_version(),
        summary="Cross-encoder reranking with a relevance gate, for RAG.",
        description=(
            "Rerank documents against a query (Cohere and text-embeddings-inference request shapes), "
            "gate them by relevance, and answer questions over a Qdrant collection. "
            "See docs/server.md."
        ),
        lifespan=state.lifespan,
    )
    app.state.crossrank = state
    install_error_handlers(app)

    @app.exception_handler(ClientGone)
    async def _gone(request: Request, exc: ClientGone) -> Response:
        # Nobody reads this answer; 499 is the nginx convention for "client closed request".
        return error_response(499, "client closed the request before it was scored")

    guarded = [Depends(api_key_dependency(settings))]
    scoring = [rerank.router]
    if state.answer is not None:
        from crossrank.server.routes import answer

        scoring.append(answer.router)
    for router in scoring:
        app.include_router(router, dependencies=guarded, responses=ERROR_RESPONSES)
    app.include_router(operations.router)

    # Read from the routers themselves: newer FastAPI keeps an included router as one entry of app.routes.
    routes = [*app.routes, *(route for router in [*scoring, operations.router] for route in router.routes)]
    known_paths = {path for route in routes if (path := getattr(route, "path", None))}
    # Oversize bodies are refused before anything reads them; the metrics middleware is
    # added last so it is outermost and also counts those 413 answers.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    rejecting = known_paths & _SCORING_PATHS
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


def _version() -> str:
    from crossrank import __version__

    return __version__
