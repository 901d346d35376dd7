"""LlamaIndex adapter: ``CrossRankPostprocessor``, a node postprocessor over the shared scorer.

Use it in ``index.as_query_engine(node_postprocessors=[...])`` or after any
retriever. Nodes come back as new ``NodeWithScore`` objects (inputs are never
mutated) whose ``score`` is the relevance probability as a plain float; the
retrieval score is kept in ``metadata["retrieval_score"]``; the rerank fields are
added to metadata and excluded from what the LLM and embedder see.

Requires the ``llama-index`` extra: ``pip install "crossrank[llama-index]"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from crossrank.adapter_common import model_or_scorer, model_path_to_str
from crossrank.fusion import Fusion
from crossrank.inputs import check_query
from crossrank.policy import MODEL_THRESHOLD, RelevancePolicy, ThresholdChoice
from crossrank.results import RERANK_FIELDS, RETRIEVAL_FIELDS, RankedDocument, RerankResult, Verdict
from crossrank.scorer import CrossEncoderScorer

dispatcher = get_dispatcher(__name__)

# Kept out of the text LLMs and embedders see: crossrank's bookkeeping, not content.
_RERANK_KEYS = (*RETRIEVAL_FIELDS, *RERANK_FIELDS)


@dataclass(frozen=True)
class NodeRerankResult:
    """A rerank of LlamaIndex nodes.

    Attributes:
        nodes: Kept nodes, best first.
        dropped: Every other node, best first, with ``drop_reason`` in metadata.
        verdict: ``relevant``, ``weak``, ``none`` or ``ungated`` (``result.gate`` says which threshold applied).
        result: The underlying ``RerankResult``.
    """

    nodes: list[NodeWithScore]
    dropped: list[NodeWithScore]
    verdict: Verdict
    result: RerankResult


def _one_query(query_bundle: QueryBundle | None, query_str: str | None) -> QueryBundle | None:
    # As LlamaIndex's own BaseNodePostprocessor.postprocess_nodes: both forms at once is a mistake.
    if query_str is not None and query_bundle is not None:
        raise ValueError("Cannot specify both query_str and query_bundle")
    return QueryBundle(query_str) if query_str is not None else query_bundle


def _annotated(original: NodeWithScore, ranked: RankedDocument) -> NodeWithScore:
    node = original.node
    metadata = ranked.annotate(node.metadata, retrieval_score=original.score)

    def _excluded(existing: list[str]) -> list[str]:
        return [*existing, *(k for k in _RERANK_KEYS if k not in existing)]

    copy = node.model_copy(
        update={
            "metadata": metadata,
            "excluded_llm_metadata_keys": _excluded(list(node.excluded_llm_metadata_keys)),
            "excluded_embed_metadata_keys": _excluded(list(node.excluded_embed_metadata_keys)),
        }
    )
    return NodeWithScore(node=copy, score=ranked.probability)


class CrossRankPostprocessor(BaseNodePostprocessor):
    """Rerank LlamaIndex nodes with a cross-encoder and gate them with thresholds.

    Give either ``model`` (a name or path; the process-wide registry hands out the
    shared instance) or a ready ``scorer``.

    Example:
        ```python
        from llama_index.core.schema import NodeWithScore, TextNode
        from crossrank.llama_index import CrossRankPostprocessor
        post = CrossRankPostprocessor(top_n=1)
        nodes = [NodeWithScore(node=TextNode(text="Bananas are yellow."), score=0.9),
                 NodeWithScore(node=TextNode(text="Click 'Forgot password'."), score=0.5)]
        best = post.postprocess_nodes(nodes, query_str="How do I reset my password?")[0]
        best.node.metadata["retrieval_score"], isinstance(best.score, float)
        # -> (0.5, True)
        ```

        In a query engine::

            engine = index.as_query_engine(similarity_top_k=30, node_postprocessors=[post])
    """

    model: str | None = Field(
        default=None, description="Model name, local path or hub id; None: the default."
    )
    top_n: int | None = Field(default=3, description="Keep at most this many nodes (None: no limit).")
    min_probability: ThresholdChoice = Field(
        default=MODEL_THRESHOLD,
        description="Drop nodes below this relevance probability; 'model' (default): the model's recommended "
        "threshold; None: ungated (verdict 'ungated').",
    )
    min_relative: float | None = Field(
        default=None, description="Drop nodes below this fraction of the best node's probability."
    )
    min_keep: int = Field(
        default=0, description="Always keep this many best nodes, even below threshold (flagged)."
    )
    fusion: Fusion | None = Field(
        default=None,
        description="Order by the cross-encoder fused with the retriever (crossrank.fusion.Fusion): by the nodes' "
        "retrieval scores when every node has one, else by their order. The gate is unchanged.",
    )
    metadata_mode: MetadataMode = Field(
        default=MetadataMode.NONE,
        description="What of a node is scored: NONE (default) scores its text alone, as the LangChain adapter, "
        "the library and the server do, so a chunk gets the same probability and verdict everywhere; EMBED "
        "prepends the metadata the embedder sees (LlamaIndex's SentenceTransformerRerank convention).",
    )
    _scorer: CrossEncoderScorer = PrivateAttr()
    _policy: RelevancePolicy = PrivateAttr()

    def __init__(self, scorer: CrossEncoderScorer | None = None, **data: Any) -> None:
        if "model" in data:
            data["model"] = model_path_to_str(data["model"])
        super().__init__(**data)
        self._policy = RelevancePolicy.from_fields(self)
        self._scorer = model_or_scorer(self.model, scorer)

    @classmethod
    def class_name(cls) -> str:
        return "CrossRankPostprocessor"

    @property
    def policy(self) -> RelevancePolicy:
        """The relevance policy built from this postprocessor's fields."""
        return self._policy

    @property
    def scorer(self) -> CrossEncoderScorer:
        """The shared scorer doing the work."""
        return self._scorer

    def _prepare(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None) -> tuple[str, list[str]]:
        if query_bundle is None:
            raise ValueError("CrossRankPostprocessor needs the query: pass query_bundle or query_str")
        query = check_query(query_bundle.query_str, "query_str")
        for position, item in enumerate(nodes):
            if not isinstance(item, NodeWithScore):
                raise TypeError(f"nodes[{position}] must be a NodeWithScore, got {type(item).__name__}")
        return query, [n.node.get_content(metadata_mode=self.metadata_mode) for n in nodes]

    def _first_stage(self, nodes: list[NodeWithScore]) -> list[float] | None:
        """The retriever's scores when fusing and every node carries one (else fusion goes by order)."""
        if self.fusion is None or any(n.score is None for n in nodes):
            return None
        return [float(n.score) for n in nodes if n.score is not None]

    def _finish(self, nodes: list[NodeWithScore], result: RerankResult) -> NodeRerankResult:
        return NodeRerankResult(
            nodes=[_annotated(nodes[d.index], d) for d in result.kept],
            dropped=[_annotated(nodes[d.index], d) for d in result.dropped],
            verdict=result.verdict,
            result=result,
        )

    @contextmanager
    def _traced(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None, query: str
    ) -> Iterator[Callable[[RerankResult], NodeRerankResult]]:
        """Wrap one rerank in the start/end instrumentation events and the legacy callback event."""
        dispatcher.event(
            ReRankStartEvent(
                query=query_bundle,
                nodes=nodes,
                top_n=self.top_n if self.top_n is not None else len(nodes),
                model_name=self._scorer.model_name,
            )
        )
        finished: list[NodeRerankResult] = []
        payload: dict[str, Any] = {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: self._scorer.model_name,
            EventPayload.QUERY_STR: query,
            EventPayload.TOP_K: self.top_n,
        }
        with self.callback_manager.event(CBEventType.RERANKING, payload=payload) as event:

            def finish(result: RerankResult) -> NodeRerankResult:
                out = self._finish(nodes, result)
                event.on_end(payload={EventPayload.NODES: out.nodes})
                finished.append(out)
                return out

            yield finish
        if finished:
            dispatcher.event(ReRankEndEvent(nodes=finished[0].nodes))

    def postprocess_with_result(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
        query_str: str | None = None,
    ) -> NodeRerankResult:
        """Rerank ``nodes`` and return kept and dropped nodes with the verdict.

        Example:
            ```python
            from llama_index.core.schema import NodeWithScore, TextNode
            out = CrossRankPostprocessor(min_probability=0.99).postprocess_with_result(
                [NodeWithScore(node=TextNode(text="Bananas."))], query_str="Tax law?")
            out.verdict.value
            # -> 'none'
            ```
        """
        query_bundle = _one_query(query_bundle, query_str)
        query, texts = self._prepare(nodes, query_bundle)
        with self._traced(nodes, query_bundle, query) as finish:
            return finish(self._scorer.rerank(query, texts, self._policy, self._first_stage(nodes)))

    async def apostprocess_with_result(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
        query_str: str | None = None,
    ) -> NodeRerankResult:
        """Async ``postprocess_with_result``; the model runs off the event loop."""
        query_bundle = _one_query(query_bundle, query_str)
        query, texts = self._prepare(nodes, query_bundle)
        with self._traced(nodes, query_bundle, query) as finish:
            return finish(await self._scorer.arerank(query, texts, self._policy, self._first_stage(nodes)))

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if not nodes:
            return []
        return self.postprocess_with_result(nodes, query_bundle).nodes

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if not nodes:
            return []
        return (await self.apostprocess_with_result(nodes, query_bundle)).nodes
