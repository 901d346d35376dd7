"""``POST /v1/answer``: retrieve, rerank through the server's batcher, gate, generate (with sources).

Included by ``create_app`` when answering is on (``CROSSRANK_SERVER_ANSWER_ENABLED``);
the pipeline itself is ``ServiceState.answer`` (``crossrank.server.answer.AnswerService``).

Example:
    ```python
    from fastapi import FastAPI
    from crossrank.server.routes import answer
    app = FastAPI()
    app.include_router(answer.router)
    [p for p in app.openapi()["paths"] if p.startswith("/v1")]
    # -> ['/v1/answer']
    ```
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from crossrank.server.answer import AnswerRequest, AnswerResponse
from crossrank.server.bodies import StrictJsonRoute
from crossrank.server.errors import LimitExceeded
from crossrank.server.metrics import request_info
from crossrank.server.state import State

router = APIRouter(tags=["answer"], route_class=StrictJsonRoute)


def _unavailable(message: str) -> HTTPException:
    return HTTPException(503, message, headers={"Retry-After": "5"})


@router.post(
    "/v1/answer",
    response_model=AnswerResponse,
    summary="Answer a question from the collection: retrieve, rerank, gate, generate (with sources)",
)
async def answer(body: AnswerRequest, request: Request, state: State) -> dict[str, Any]:
    """Answer ``question`` from the collection, or say why not (verdict, fallback, message)."""
    settings = state.settings
    info = request_info(request.scope)  # refusals are counted and logged by the metrics middleware
    if len(body.question) > settings.max_query_chars:
        raise LimitExceeded(
            ("body", "question"),
            f"question has {len(body.question)} characters; the limit is {settings.max_query_chars} "
            "(CROSSRANK_SERVER_MAX_QUERY_CHARS)",
        )
    service = state.answer
    pipeline = service.pipeline if service is not None else None
    if service is None or pipeline is None:
        info.reason = "not_ready"
        if service is not None and service.error:
            raise _unavailable(f"the answer pipeline is not available: {service.error}")
        raise _unavailable("the answer pipeline is still loading; retry when /readyz says ready")
    from crossrank.rag.store import QdrantUnavailableError

    try:
        result = await asyncio.wait_for(
            pipeline.aask(body.question, score=lambda query, texts: state.score(request, query, texts)),
            settings.answer_timeout_s,
        )
    except asyncio.TimeoutError:
        info.reason = "timeout"
        raise _unavailable(
            f"no answer within {settings.answer_timeout_s:g} s (CROSSRANK_SERVER_ANSWER_TIMEOUT_S); "
            "the generator or Qdrant is too slow, retry later"
        ) from None
    except QdrantUnavailableError as exc:
        raise _unavailable(f"the vector store is unreachable: {exc}") from None
    except LookupError as exc:
        raise _unavailable(f"nothing to answer from: {exc}") from None
    except (ConnectionError, OSError) as exc:
        raise _unavailable(f"the vector store is unreachable: {type(exc).__name__}: {exc}") from None
    except Exception as exc:
        if type(exc).__module__.startswith("qdrant_client"):
            raise _unavailable(f"the vector store failed: {type(exc).__name__}: {exc}") from None
        raise
    state.metrics.verdicts.labels(endpoint="/v1/answer", verdict=result.verdict.value).inc()
    return result.to_dict(include_trace=body.include_trace)
