"""``POST /v1/rerank`` and ``/v2/rerank`` (Cohere's shape) and ``POST /rerank`` (text-embeddings-inference's).

Example:
    ```python
    from fastapi import FastAPI
    from crossrank.server.routes import rerank
    app = FastAPI()
    app.include_router(rerank.router)
    sorted(p for p in app.openapi()["paths"] if "rerank" in p)
    # -> ['/rerank', '/v1/rerank', '/v2/rerank']
    ```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request

from crossrank.policy import RelevancePolicy, parse_threshold
from crossrank.results import RerankResult
from crossrank.server.bodies import StrictJsonRoute
from crossrank.server.errors import LimitExceeded
from crossrank.server.metrics import request_info
from crossrank.server.responses import cohere_rerank_body, tei_ranks
from crossrank.server.schemas import CohereRerankRequest, CohereRerankResponse, TeiRank, TeiRerankRequest
from crossrank.server.settings import ServerSettings
from crossrank.server.state import State

# Every route with a body accepts strict JSON only (415, or 422 naming a NaN or a lone surrogate).
router = APIRouter(tags=["rerank"], route_class=StrictJsonRoute)


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


def policy_for(settings: ServerSettings, req: CohereRerankRequest) -> RelevancePolicy:
    """The request's gate: its own fields where it sends them, the server's defaults elsewhere."""
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


def _cohere_document(doc: Any) -> dict[str, Any]:
    return {"text": doc} if isinstance(doc, str) else doc.model_dump()


@router.post(
    "/v1/rerank",
    response_model=CohereRerankResponse,
    response_model_exclude_unset=True,
    summary="Rerank documents (Cohere rerank shape) and gate them by relevance",
)
async def rerank_cohere(body: CohereRerankRequest, request: Request, state: State) -> dict[str, Any]:
    """Score ``documents`` against ``query``, gate them and answer in Cohere's shape with crossrank's fields."""
    texts = body.texts()
    info = request_info(request.scope)
    info.documents = len(texts)
    check_limits(state.settings, body.query, texts, "documents")
    policy = policy_for(state.settings, body)
    scores = await state.score(request, body.query, texts)
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
        documents=[_cohere_document(d) for d in body.documents] if body.return_documents else None,
    )


router.add_api_route(
    "/v2/rerank",
    rerank_cohere,
    methods=["POST"],
    response_model=CohereRerankResponse,
    response_model_exclude_unset=True,
    summary="Same as /v1/rerank (the path Cohere's v2 client calls)",
)


@router.post(
    "/rerank",
    response_model=list[TeiRank],
    response_model_exclude_none=True,
    summary="Rerank texts (text-embeddings-inference shape)",
)
async def rerank_tei(body: TeiRerankRequest, request: Request, state: State) -> list[dict[str, Any]]:
    """Score ``texts`` against ``query`` and answer TEI's list of ``{index, score}``, best first."""
    request_info(request.scope).documents = len(body.texts)
    check_limits(state.settings, body.query, body.texts, "texts")
    scores = await state.score(request, body.query, body.texts)
    return tei_ranks(scores, body.texts, raw_scores=body.raw_scores, return_text=body.return_text)
