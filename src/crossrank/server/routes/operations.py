"""``GET /healthz`` (alive), ``/readyz`` (model loaded, Qdrant reachable when answering) and ``/metrics``.

Example:
    ```python
    from fastapi import FastAPI
    from crossrank.server.routes import operations
    app = FastAPI()
    app.include_router(operations.router)
    sorted(p for p in app.openapi()["paths"] if p.endswith("z"))
    # -> ['/healthz', '/readyz']
    ```
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from crossrank.server.schemas import Health, Readiness
from crossrank.server.state import State

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Always ``{"status": "alive"}``, even while the model loads."""
    return {"status": "alive"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready; checks say why."}},
    summary="The model is loaded (and Qdrant reachable when /v1/answer is on)",
)
async def readyz(response: Response, state: State) -> dict[str, Any]:
    """``ready`` when every check says ``ok``; 503 with each check's reason otherwise."""
    checks: dict[str, str] = {}
    if state.batcher is not None and state.batcher.running:
        checks["model"] = "ok"
    elif state.load_error is not None:
        checks["model"] = f"failed to load: {state.load_error}"
    else:
        checks["model"] = "loading"
    if state.answer is not None:
        checks.update(await state.answer.check(state.settings.readiness_timeout_s))
    ready = all(v == "ok" for v in checks.values())
    if not ready:
        response.status_code = 503
    return {"status": "ready" if ready else "not ready", "model": state.model_name, "checks": checks}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics(state: State) -> Response:
    """The service's Prometheus metrics in the text format."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
