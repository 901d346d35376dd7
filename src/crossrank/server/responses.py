"""The JSON bodies the rerank endpoints answer with, built in one place from crossrank's results.

The FastAPI app (``/v1/rerank``, ``/v2/rerank``, ``/rerank``) and the Ray Serve deployment
both answer through these builders, so a field added to a result reaches every surface in
the same words (the response models in ``server/schemas.py`` document them).

Example:
    ```python
    from crossrank import RelevancePolicy, Score

    result = RelevancePolicy(top_n=1, min_probability=None).apply("q", ["a", "b"], [Score(0.0, 0.5), Score(1.0, 0.73)])
    cohere_rerank_body(result, model="my-reranker", request_id="req-1")["results"][0]["index"]
    # -> 1
    tei_ranks([Score(0.0, 0.5), Score(1.0, 0.73)], ["a", "b"])[0]
    # -> {'index': 1, 'score': 0.73}
    ```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossrank.policy import rank_order
from crossrank.results import RankedDocument, RerankResult
from crossrank.scores import Score

DEPRECATED_ALIASES: dict[str, str] = {
    "logit": "relevance_logit",
    "windows": "rerank_windows",
    "rank": "rerank_rank",
    "passed": "passed_threshold",
}
"""Old name -> vocabulary name: the rerank bodies' fields before they took ``results.FIELDS``, sent for one more release."""


def _ranked_item(doc: RankedDocument) -> dict[str, Any]:
    # The rerank fields without the text: Cohere echoes the document only on request, as ``document``.
    item: dict[str, Any] = {"index": doc.index, **doc.metadata()}
    item.update({old: item[new] for old, new in DEPRECATED_ALIASES.items()})
    return item


def cohere_rerank_body(
    result: RerankResult,
    *,
    model: str | None,
    request_id: str | None = None,
    documents: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Cohere's rerank response plus crossrank's verdict, threshold and dropped documents.

    Args:
        result: The gated rerank.
        model: The reranker's name, for ``meta.model``.
        request_id: The request's id (``id``); omitted when ``None``.
        documents: The request's documents as objects, echoed back per result
            (``return_documents``); ``None`` echoes nothing.
    """
    results = []
    for doc in result.kept:
        item = _ranked_item(doc)
        if documents is not None:
            item["document"] = documents[doc.index]
        results.append(item)
    body: dict[str, Any] = {} if request_id is None else {"id": request_id}
    body.update(
        {
            "results": results,
            "meta": {"api_version": {"version": "1"}, "model": model},
            "verdict": result.verdict.value,
            "threshold": result.gate.threshold,
            "threshold_source": result.gate.source,
            "dropped": [_ranked_item(d) for d in result.dropped],
        }
    )
    return body


def tei_ranks(
    scores: Sequence[Score], texts: Sequence[str], *, raw_scores: bool = False, return_text: bool = False
) -> list[dict[str, Any]]:
    """text-embeddings-inference's ``/rerank`` answer: every text, best first, in crossrank's ranking order.

    ``score`` is the probability, or the raw logit with ``raw_scores``.
    """
    return [
        {
            "index": i,
            "score": scores[i].logit if raw_scores else scores[i].probability,
            **({"text": texts[i]} if return_text else {}),
        }
        for i in rank_order(scores)
    ]
