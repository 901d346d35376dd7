"""LangChain adapters over the shared scorer: ``CrossRankReranker``, a ``BaseDocumentCompressor``,
and ``CrossRankCrossEncoder``, a ``BaseCrossEncoder`` for LangChain's own ``CrossEncoderReranker``.

Drop ``CrossRankReranker`` into ``ContextualCompressionRetriever``, ``DocumentCompressorPipeline`` or an
LCEL chain. It returns new ``Document`` objects (inputs are never mutated) with every
original metadata field and ``Document.id`` kept, plus ``relevance_score``
(probability), ``relevance_logit``, ``rerank_rank``, ``rerank_windows``,
``passed_threshold``, ``retrieval_rank`` and, when the input carried one,
``retrieval_score``.

To branch on the verdict (generate / warn / fall back), use ``as_runnable()``: it
takes ``{"query": ..., "documents": [...]}`` and returns the kept documents, the
dropped ones and the verdict, ready for a ``RunnableBranch``.

``CrossRankCrossEncoder`` is for code already built on LangChain's
``CrossEncoderReranker(model=..., top_n=...)``: it only scores pairs (no gate, no
metadata); LangChain sorts and cuts.

Requires the ``langchain`` extra: ``pip install "crossrank[langchain]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.callbacks import Callbacks
from langchain_core.cross_encoders import BaseCrossEncoder
from langchain_core.documents import BaseDocumentCompressor, Document
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from crossrank.adapter_common import model_or_scorer, model_path_to_str
from crossrank.fusion import Fusion
from crossrank.inputs import check_query, check_texts
from crossrank.policy import MODEL_THRESHOLD, RelevancePolicy, ThresholdChoice
from crossrank.results import RankedDocument, RerankResult, Verdict
from crossrank.scorer import CrossEncoderScorer

# Metadata keys other retrievers use for their own score, moved to ``retrieval_score``.
RETRIEVAL_SCORE_KEYS = ("retrieval_score", "score", "_score", "similarity_score", "relevance_score")


@dataclass(frozen=True)
class DocumentRerankResult:
    """A rerank of LangChain documents.

    Attributes:
        documents: Kept documents, best first, with rerank metadata.
        dropped: Every other document, best first, with rerank metadata and ``drop_reason``.
        verdict: ``relevant``, ``weak``, ``none`` or ``ungated``.
        result: The underlying ``RerankResult`` (its ``gate`` says which threshold applied).
    """

    documents: list[Document]
    dropped: list[Document]
    verdict: Verdict
    result: RerankResult

    def to_chain_output(self) -> dict[str, Any]:
        """The dict ``as_runnable()`` emits: query, documents, dropped, verdict (a str), threshold and result."""
        return {
            "query": self.result.query,
            "documents": self.documents,
            "dropped": self.dropped,
            "verdict": self.verdict.value,
            "threshold": self.result.gate.threshold,
            "threshold_source": self.result.gate.source,
            "best_probability": self.result.best_probability,
            "result": self.result,
        }


def _annotated(original: Document, ranked: RankedDocument) -> Document:
    # LangChain retrievers name their score differently; the first one found is the retrieval score.
    found = next(
        (
            float(original.metadata[key])
            for key in RETRIEVAL_SCORE_KEYS
            if isinstance(original.metadata.get(key), (int, float))
            and not isinstance(original.metadata[key], bool)
        ),
        None,
    )
    return original.model_copy(update={"metadata": ranked.annotate(original.metadata, retrieval_score=found)})


def _model_path_to_str(cls: type, value: Any) -> Any:
    # The ``model`` field validator of both LangChain classes.
    return model_path_to_str(value)


class CrossRankReranker(BaseDocumentCompressor):
    """Rerank LangChain documents with a cross-encoder and gate them with thresholds.

    Give either ``model`` (a name or path; the process-wide registry hands out the
    shared instance) or a ready ``scorer``.

    Example:
        ```python
        from langchain_core.documents import Document
        from crossrank.langchain import CrossRankReranker
        reranker = CrossRankReranker(top_n=2, min_probability=0.2)
        docs = [Document("Bananas are yellow."), Document("Click 'Forgot password' to reset it.")]
        best = reranker.compress_documents(docs, "How do I reset my password?")[0]
        best.metadata["rerank_rank"], best.metadata["retrieval_rank"]
        # -> (1, 2)
        ```

        In a retriever::

            from langchain_classic.retrievers import ContextualCompressionRetriever
            retriever = ContextualCompressionRetriever(base_compressor=reranker, base_retriever=vector_retriever)
    """

    model: str | None = None
    """Model name, local path or hub id; ``None`` for crossrank's shipped default."""
    scorer: CrossEncoderScorer | None = Field(default=None, exclude=True)
    """A ready scorer to use instead of ``model``."""
    top_n: int | None = 3
    """Keep at most this many documents (``None``: no limit)."""
    min_probability: ThresholdChoice = MODEL_THRESHOLD
    """Drop documents whose relevance probability is below this; ``"model"`` (default): the
    model's recommended threshold; ``None``: ungated (verdict ``ungated``)."""
    min_relative: float | None = None
    """Drop documents below this fraction of the best document's probability."""
    min_keep: int = 0
    """Always keep this many of the best documents, even below threshold (flagged)."""
    fusion: Fusion | None = None
    """Order by the cross-encoder fused with the retriever (``crossrank.fusion.Fusion``); the gate is unchanged."""
    first_stage_score_key: str | None = None
    """Metadata key holding each document's retriever score, for score fusion; ``None``: fuse by input order."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    _policy: RelevancePolicy = PrivateAttr()
    _scorer: CrossEncoderScorer = PrivateAttr()

    _path_to_str = field_validator("model", mode="before")(_model_path_to_str)

    @model_validator(mode="after")
    def _build(self) -> CrossRankReranker:
        self._policy = RelevancePolicy.from_fields(self)
        self._scorer = model_or_scorer(self.model, self.scorer)
        return self

    @property
    def policy(self) -> RelevancePolicy:
        """The relevance policy built from this reranker's fields."""
        return self._policy

    def _texts(self, documents: Sequence[Document]) -> list[str]:
        for position, doc in enumerate(documents):
            if not isinstance(doc, Document):
                raise TypeError(
                    f"documents[{position}] must be a langchain Document, got {type(doc).__name__}"
                )
        return [doc.page_content for doc in documents]

    def _first_stage(self, documents: Sequence[Document]) -> list[float] | None:
        if self.fusion is None or self.first_stage_score_key is None:
            return None
        key = self.first_stage_score_key
        missing = [i for i, doc in enumerate(documents) if key not in doc.metadata]
        if missing:
            raise ValueError(
                f"documents[{missing[0]}] has no metadata[{key!r}] (first_stage_score_key); put the retriever's "
                "score there, or set first_stage_score_key=None to fuse by the input order"
            )
        return [doc.metadata[key] for doc in documents]

    def _wrap(self, documents: Sequence[Document], result: RerankResult) -> DocumentRerankResult:
        return DocumentRerankResult(
            documents=[_annotated(documents[d.index], d) for d in result.kept],
            dropped=[_annotated(documents[d.index], d) for d in result.dropped],
            verdict=result.verdict,
            result=result,
        )

    def rerank_documents(self, documents: Sequence[Document], query: str) -> DocumentRerankResult:
        """Rerank and gate ``documents``; returns kept and dropped documents and the verdict.

        Example:
            ```python
            from langchain_core.documents import Document
            out = CrossRankReranker(min_probability=0.99).rerank_documents([Document("Bananas.")], "Tax law?")
            out.verdict.value, len(out.dropped)
            # -> ('none', 1)
            ```
        """
        check_query(query)
        texts = self._texts(documents)
        first_stage = self._first_stage(documents)
        return self._wrap(documents, self._scorer.rerank(query, texts, self._policy, first_stage))

    async def arerank_documents(self, documents: Sequence[Document], query: str) -> DocumentRerankResult:
        """Async ``rerank_documents``; the model runs off the event loop."""
        check_query(query)
        texts = self._texts(documents)
        first_stage = self._first_stage(documents)
        return self._wrap(documents, await self._scorer.arerank(query, texts, self._policy, first_stage))

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Rerank ``documents`` for ``query`` and return the kept ones, best first."""
        return self.rerank_documents(documents, query).documents

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Async ``compress_documents`` (native: it does not block the event loop)."""
        return (await self.arerank_documents(documents, query)).documents

    def as_runnable(self) -> RunnableLambda[dict[str, Any], dict[str, Any]]:
        """A runnable for LCEL chains that need the verdict.

        Input: ``{"query": str, "documents": list[Document]}``. Output: ``{"query",
        "documents" (kept), "dropped", "verdict" ("relevant" | "weak" | "none" |
        "ungated"), "threshold", "threshold_source", "best_probability", "result"}``.

        Example:
            ```python
            from langchain_core.runnables import RunnableBranch
            gate = CrossRankReranker(min_probability=0.3).as_runnable()
            chain = gate | RunnableBranch(
                (lambda x: x["verdict"] == "relevant", lambda x: "answer from " + x["documents"][0].page_content),
                lambda x: "no relevant documents")
            ```
        """

        def _input(payload: dict[str, Any]) -> tuple[list[Document], str]:
            if not isinstance(payload, dict) or "query" not in payload or "documents" not in payload:
                raise TypeError("the reranker runnable takes a dict with 'query' and 'documents'")
            return list(payload["documents"]), payload["query"]

        def run(payload: dict[str, Any]) -> dict[str, Any]:
            return self.rerank_documents(*_input(payload)).to_chain_output()

        async def arun(payload: dict[str, Any]) -> dict[str, Any]:
            return (await self.arerank_documents(*_input(payload))).to_chain_output()

        return RunnableLambda(run, afunc=arun, name="CrossRankGate")


def _grouped_by_query(text_pairs: object) -> list[tuple[str, list[int], list[str]]]:
    """Check ``(query, text)`` pairs; group them by query: ``(query, positions, texts)``, first seen first."""
    if isinstance(text_pairs, (str, bytes)) or not isinstance(text_pairs, Sequence):
        raise TypeError(f"text_pairs must be a list of (query, text) pairs, got {type(text_pairs).__name__}")
    for position, pair in enumerate(text_pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(
                f"text_pairs[{position}] must be a (query, text) pair, got {type(pair).__name__}: {pair!r:.60}"
            )
        check_query(pair[0], f"the query of text_pairs[{position}] {pair!r:.60}")
    check_texts([pair[1] for pair in text_pairs], "the text of text_pairs")
    groups: dict[str, tuple[list[int], list[str]]] = {}
    for position, (query, text) in enumerate(text_pairs):
        positions, texts = groups.setdefault(query, ([], []))
        positions.append(position)
        texts.append(text)
    return [(query, positions, texts) for query, (positions, texts) in groups.items()]


class CrossRankCrossEncoder(BaseModel, BaseCrossEncoder):
    """LangChain's ``BaseCrossEncoder`` over crossrank's scorer, for ``CrossEncoderReranker``.

    Give either ``model`` (a name or path; the process-wide registry hands out the
    shared instance) or a ready ``scorer``. ``score`` returns one plain float per
    ``(query, text)`` pair, in input order: the calibrated relevance probability, the
    same number crossrank calls ``relevance_score`` everywhere else. The calibration is
    monotonic, so ordering by probability is ordering by logit (``output="logit"``
    returns the raw logits, which stay apart where probabilities round to 0.0 or 1.0).
    Pairs may mix queries: they are grouped by query and scored in one batched
    ``score_many`` call. An empty list gives ``[]``; a pair that is not a
    ``(str, str)`` tuple, or has an empty query, is refused naming its position.

    LangChain's compressor only sorts and cuts to ``top_n``; for the relevance gate,
    ``rerank_*`` metadata and the verdict, use ``CrossRankReranker``.

    Example:
        ```python
        from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
        from langchain_core.documents import Document
        from crossrank.langchain import CrossRankCrossEncoder
        compressor = CrossEncoderReranker(model=CrossRankCrossEncoder(), top_n=1)
        docs = [Document("Bananas are yellow."), Document("Click 'Forgot password' to reset it.")]
        compressor.compress_documents(docs, "How do I reset my password?")[0].page_content
        # -> "Click 'Forgot password' to reset it."
        scores = CrossRankCrossEncoder().score([("What is the capital of France?", "Paris is the capital."),
                                                ("What is the largest planet?", "Paris is the capital.")])
        scores[0] > scores[1]
        # -> True
        ```
    """

    model: str | None = None
    """Model name, local path or hub id; ``None`` for crossrank's shipped default."""
    scorer: CrossEncoderScorer | None = Field(default=None, exclude=True)
    """A ready scorer to use instead of ``model``."""
    output: Literal["probability", "logit"] = "probability"
    """What ``score`` returns: the calibrated probability (default) or the raw logit."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    _scorer: CrossEncoderScorer = PrivateAttr()

    _path_to_str = field_validator("model", mode="before")(_model_path_to_str)

    @model_validator(mode="after")
    def _build(self) -> CrossRankCrossEncoder:
        self._scorer = model_or_scorer(self.model, self.scorer)
        return self

    def score(self, text_pairs: list[tuple[str, str]]) -> list[float]:
        """Score ``(query, text)`` pairs; one float per pair, in input order.

        Raises:
            TypeError: ``text_pairs`` is not a list, or a pair is not a ``(str, str)``
                pair (the message names its position and value).
            ValueError: A pair's query is empty.
        """
        groups = _grouped_by_query(text_pairs)
        if not groups:
            return []
        scored = self._scorer.score_many([(query, texts) for query, _, texts in groups])
        out = [0.0] * len(text_pairs)
        for (_, positions, _), scores in zip(groups, scored):
            for position, s in zip(positions, scores):
                out[position] = float(s.probability if self.output == "probability" else s.logit)
        return out
