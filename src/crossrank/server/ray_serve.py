"""The same scorer under Ray Serve, for teams that outgrow one machine.

Ray Serve runs replicas of a deployment across a cluster, routes requests to them
and batches calls with ``@serve.batch``; this deployment wraps one
``CrossEncoderScorer`` per replica and batches concurrent requests into one
``score_many`` call, just like the FastAPI service's ``DynamicBatcher``. It takes and
returns the Cohere rerank shape (``query``, ``documents``, ``top_n``), answered by the
same builder as the FastAPI service (``server/responses.py``): ``results`` with ``index``,
``relevance_score`` and crossrank's ``logit`` / ``windows`` / ``rank`` / ``passed``, the
verdict, the threshold and the dropped documents with their reasons.

Needs ``pip install "ray[serve]"`` (not a crossrank dependency).

Example:
    $ serve run crossrank.server.ray_serve:build_app model=/models/reranker num_replicas=2
    $ curl -s localhost:8000/v1/rerank -d '{"query": "q", "documents": ["a", "b"]}'

    ```python
    from ray import serve
    handle = serve.run(build_app({"model": "/models/reranker"}))
    handle.rerank.remote({"query": "q", "documents": ["a"]}).result()["results"][0]["index"]
    # -> 0
    ```
"""

from __future__ import annotations

import warnings
from typing import Any

from ray import serve
from starlette.requests import Request

from crossrank.policy import MODEL_THRESHOLD, RelevancePolicy, parse_threshold
from crossrank.scorer import CrossEncoderScorer
from crossrank.scores import Score
from crossrank.server.responses import cohere_rerank_body


def _texts(documents: Any) -> list[str]:
    # ValueError throughout: the deployment answers it with 422, like the FastAPI service.
    if not isinstance(documents, list):
        raise ValueError("documents must be a list of strings or objects with a 'text' string")
    texts = []
    for position, doc in enumerate(documents):
        text = doc if isinstance(doc, str) else doc.get("text") if isinstance(doc, dict) else None
        if not isinstance(text, str):
            raise ValueError(f"documents[{position}] must be a string or an object with a 'text' string")
        texts.append(text)
    return texts


@serve.deployment(ray_actor_options={"num_cpus": 1})
class RerankDeployment:
    """One replica: one shared scorer, concurrent requests batched by Ray Serve.

    Args:
        model: Reranker directory or hub id (``None``: the shipped default).
        backend: ``"auto"`` (onnx int8 on a CPU, torch on a GPU), ``"onnx"`` or ``"torch"``.
        device: ``"auto"``, ``"cpu"``, ...
        max_batch_requests: Most *requests* merged into one ``score_many`` call (the FastAPI
            service's ``max_batch_size`` counts documents, the scorer's ``batch_size`` windows).
        batch_wait_timeout_s: How long the first request of a batch waits for others.
    """

    def __init__(
        self,
        model: str | None = None,
        device: str = "auto",
        max_batch_requests: int = 16,
        backend: str = "auto",
        batch_wait_timeout_s: float = 0.005,
    ) -> None:
        self.scorer = CrossEncoderScorer(model, backend=backend, device=device)
        # @serve.batch adds these setters at run time (mypy cannot see them).
        self.score_groups.set_max_batch_size(max_batch_requests)  # type: ignore[attr-defined]
        self.score_groups.set_batch_wait_timeout_s(batch_wait_timeout_s)  # type: ignore[attr-defined]

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def score_groups(self, groups: list[tuple[str, list[str]]]) -> list[list[Score]]:
        # Ray hands over the requests that arrived together; one model pass scores them all.
        return await self.scorer.ascore_many(groups)

    async def rerank(self, body: dict[str, Any]) -> dict[str, Any]:
        """Rerank one Cohere-shaped request body (also callable through a DeploymentHandle)."""
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        texts = _texts(body.get("documents"))
        scores = await self.score_groups((query, texts))
        asked = body.get("min_probability", MODEL_THRESHOLD)
        threshold = parse_threshold(MODEL_THRESHOLD if asked is None else asked, "min_probability")
        result = RelevancePolicy(top_n=body.get("top_n"), min_probability=threshold).apply(
            query, texts, scores, recommended=self.scorer.recommended_gate
        )
        return cohere_rerank_body(result, model=self.scorer.model_name)

    async def __call__(self, request: Request) -> Any:
        from starlette.responses import JSONResponse

        try:
            return await self.rerank(await request.json())
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=422)


def build_app(args: dict[str, Any]) -> Any:
    """The application for ``serve run crossrank.server.ray_serve:build_app key=value ...``.

    Keys: ``model``, ``backend`` (default ``auto``), ``device``, ``num_replicas`` (default 1),
    ``max_batch_requests`` (requests per model call, default 16; the old key ``max_batch_size``
    still works for one release, with a warning), ``batch_wait_timeout_s``, ``num_cpus`` (per
    replica, default 1).
    """
    requests = args.get("max_batch_requests")
    if requests is None and "max_batch_size" in args:
        warnings.warn(
            "build_app's max_batch_size is deprecated (it counts requests, unlike the server's "
            "max_batch_size, which counts documents): use max_batch_requests",
            DeprecationWarning,
            stacklevel=2,
        )
        requests = args["max_batch_size"]
    options = {
        "num_replicas": int(args.get("num_replicas", 1)),
        "ray_actor_options": {"num_cpus": float(args.get("num_cpus", 1))},
    }
    return RerankDeployment.options(**options).bind(  # type: ignore[attr-defined]
        model=args.get("model"),
        device=args.get("device", "auto"),
        backend=args.get("backend", "auto"),
        max_batch_requests=int(requests if requests is not None else 16),
        batch_wait_timeout_s=float(args.get("batch_wait_timeout_s", 0.005)),
    )
