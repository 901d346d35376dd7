"""crossrank's results and the one vocabulary they are written in.

``RelevancePolicy.apply`` (``crossrank.policy``) returns a ``RerankResult``: the kept
documents in rank order, every dropped document with its score and the reason it was
dropped (nothing is silently lost), a ``Verdict`` downstream code branches on, and the
``Gate`` applied. Every surface writes these results with the names in ``FIELDS``: the
result's ``to_dict`` (``crossrank rerank --json``), the adapters' metadata (and the
LlamaIndex exclusion list), the HTTP rerank bodies (``server/responses.py``) and the RAG
answer's sources and trace.

Example:
    ```python
    from crossrank import RelevancePolicy, Score
    result = RelevancePolicy(min_probability=0.5).apply("q", ["a", "b"], [Score(2.0, 0.88), Score(-1.0, 0.27)])
    result.kept[0].to_dict()["relevance_score"], result.dropped[0].metadata()["drop_reason"]
    # -> (0.88, 'below_min_probability')
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from crossrank.scores import Score

if TYPE_CHECKING:
    from crossrank.policy import RelevancePolicy

FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "index": "Position in the caller's input list (the retrieval order), 0-based.",
        "text": "The text that was scored.",
        "relevance_score": "Relevance probability in [0, 1] (calibrated when the model ships a calibration).",
        "relevance_logit": "The raw relevance logit (orders like the probability; keeps apart scores that round to 1.0).",
        "rerank_rank": "1-based rank among all candidates after reranking.",
        "rerank_windows": "Token windows the score was aggregated from (1: the document fitted whole).",
        "passed_threshold": "Whether it cleared every threshold (false: kept only through min_keep or the weak band).",
        "drop_reason": "Why it was not kept: below_min_probability, below_min_relative or beyond_top_n.",
        "fused_score": "The value it was ordered by when the policy fuses with the first stage.",
        "retrieval_score": "The first stage's score.",
        "retrieval_rank": "1-based rank in the first stage's order.",
    }
)
"""crossrank's field vocabulary: every name a result is written with, on every surface, and what it means.

The names are prefixed where a bare word would be ambiguous beside a user's own metadata
or the first stage's fields (``rerank_rank`` vs ``retrieval_rank``); ``index`` and
``relevance_score`` are the names Cohere's rerank API and LangChain's rerankers use.
"""

RERANK_FIELDS: tuple[str, ...] = (
    "relevance_score",
    "relevance_logit",
    "rerank_rank",
    "rerank_windows",
    "passed_threshold",
    "drop_reason",
    "fused_score",
)
"""The fields a rerank adds to a document (:meth:`RankedDocument.metadata`), in ``FIELDS``'s words."""

RETRIEVAL_FIELDS: tuple[str, ...] = ("retrieval_score", "retrieval_rank")
"""The first stage's score and 1-based rank, kept beside the rerank fields (:meth:`RankedDocument.annotate`)."""


class Verdict(str, Enum):
    """What a rerank says about the candidates as a whole.

    * ``relevant``: at least one document cleared the relevance threshold.
    * ``weak``: nothing cleared it; documents were kept only through ``min_keep``
      (fail-open) or the weak band (``weak_min_probability``) and are flagged as
      below threshold.
    * ``none``: nothing is relevant enough and nothing was kept.
    * ``ungated``: no relevance threshold applied (the user turned the gate off, or
      the model recommends none): documents were kept by rank alone, so nothing is
      claimed about their relevance.

    Example:
        ```python
        if result.verdict is Verdict.RELEVANT:
            answer_from(result.kept)
        ```
    """

    RELEVANT = "relevant"
    WEAK = "weak"
    NONE = "none"
    UNGATED = "ungated"

    def __str__(self) -> str:
        return self.value


GateSource = Literal["user", "model", "fitted", "none"]
"""Where the applied threshold came from: set by the user, shipped with the model,
fitted to the user's documents by ``crossrank calibrate``, or ``none`` (ungated)."""


@dataclass(frozen=True)
class Gate:
    """The relevance threshold a result was gated at, and where it came from.

    Attributes:
        threshold: The ``min_probability`` applied (``None``: ungated).
        source: ``user``, ``model`` (the model's recommended threshold), ``fitted``
            (a threshold ``crossrank calibrate`` fitted to the user's documents) or
            ``none``.

    Example:
        ```python
        result.gate.threshold, result.gate.source   # (0.49, 'model')
        ```
    """

    threshold: float | None
    source: GateSource

    def to_dict(self) -> dict[str, Any]:
        """``{"threshold": ..., "source": ...}``."""
        return {"threshold": self.threshold, "source": self.source}


class DropReason(str, Enum):
    """Why a document was not kept."""

    BELOW_MIN_PROBABILITY = "below_min_probability"
    BELOW_MIN_RELATIVE = "below_min_relative"
    BEYOND_TOP_N = "beyond_top_n"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RankedDocument:
    """One document after reranking.

    Attributes:
        index: Its position in the caller's input list (the retrieval order).
        text: The text that was scored.
        logit: Raw relevance logit, a plain float.
        probability: Relevance probability, a plain float.
        windows: Token windows the score was aggregated from.
        rank: 1-based position in the reranked order of all candidates.
        passed: Whether it cleared every threshold. A kept document with
            ``passed=False`` was kept only through ``min_keep``.
        drop_reason: Why it was dropped; ``None`` for kept documents.
        fused_score: The value it was ordered by when the policy fuses with the first
            stage (``None`` without fusion).
    """

    index: int
    text: str
    logit: float
    probability: float
    windows: int
    rank: int
    passed: bool
    drop_reason: DropReason | None = None
    fused_score: float | None = None

    @property
    def score(self) -> Score:
        """The score record of this document."""
        return Score(logit=self.logit, probability=self.probability, windows=self.windows)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict in crossrank's field vocabulary (``FIELDS``): plain floats and strings.

        ``drop_reason`` is ``None`` for a kept document; ``fused_score`` appears only when
        the policy fused with the first stage.

        Example:
            ```python
            RankedDocument(0, "t", 1.5, 0.82, 1, rank=1, passed=True).to_dict()["relevance_score"]
            # -> 0.82
            ```
        """
        fields: dict[str, Any] = {"index": self.index, "text": self.text, **self._rerank_fields()}
        fields.setdefault("drop_reason", None)
        return fields

    def metadata(self) -> dict[str, Any]:
        """The fields the framework adapters add to a document's metadata (``RERANK_FIELDS``, unset ones left out).

        Example:
            ```python
            doc = RankedDocument(0, "t", 1.5, 0.82, 1, rank=1, passed=True)
            doc.metadata()["relevance_score"]
            # -> 0.82
            ```
        """
        return self._rerank_fields()

    def _rerank_fields(self) -> dict[str, Any]:
        values = (self.probability, self.logit, self.rank, self.windows, self.passed,
                  None if self.drop_reason is None else self.drop_reason.value, self.fused_score)  # fmt: skip
        # Names come from RERANK_FIELDS alone, so every surface and the LlamaIndex exclusion list agree.
        return {key: value for key, value in zip(RERANK_FIELDS, values, strict=True) if value is not None}

    def annotate(self, metadata: Mapping[str, Any], retrieval_score: float | None = None) -> dict[str, Any]:
        """A new metadata dict: the caller's fields, the first stage's score and rank, the rerank fields.

        ``retrieval_score`` and ``retrieval_rank`` are only set when the caller's metadata
        does not already carry them; the rerank fields always reflect this rerank.

        Example:
            ```python
            doc = RankedDocument(2, "t", 1.5, 0.82, 1, rank=1, passed=True)
            doc.annotate({"source": "a.md"}, retrieval_score=0.61)["retrieval_rank"]
            # -> 3
            ```
        """
        annotated = dict(metadata)
        if retrieval_score is not None:
            annotated.setdefault("retrieval_score", float(retrieval_score))
        annotated.setdefault("retrieval_rank", self.index + 1)
        annotated.update(self.metadata())
        return annotated


@dataclass(frozen=True)
class RerankResult:
    """The outcome of reranking one query's candidates under a policy.

    Attributes:
        query: The query.
        kept: Documents to hand on, best first.
        dropped: Every other document, best first, each with its ``drop_reason``.
        verdict: ``relevant``, ``weak``, ``none`` or ``ungated``; branch on it.
        policy: The policy that produced this result.
        gate: The threshold applied and where it came from (user, model, fitted, none).

    Example:
        ```python
        from crossrank import RelevancePolicy, Score
        policy = RelevancePolicy(top_n=1, min_probability=0.5)
        result = policy.apply("q", ["a", "b"], [Score(2.0, 0.88), Score(-1.0, 0.27)])
        [d.text for d in result.kept], result.verdict.value
        # -> (['a'], 'relevant')
        ```
    """

    query: str
    kept: list[RankedDocument]
    dropped: list[RankedDocument]
    verdict: Verdict
    policy: RelevancePolicy = field(repr=False)
    gate: Gate = Gate(None, "none")

    @property
    def ranked(self) -> list[RankedDocument]:
        """All candidates in reranked order, kept and dropped together."""
        return sorted([*self.kept, *self.dropped], key=lambda d: d.rank)

    @property
    def best_probability(self) -> float | None:
        """The highest probability among all candidates (``None`` when there were none)."""
        ranked = self.ranked
        return max(d.probability for d in ranked) if ranked else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole result."""
        return {
            "query": self.query,
            "verdict": self.verdict.value,
            "threshold": self.gate.threshold,
            "threshold_source": self.gate.source,
            "best_probability": self.best_probability,
            "policy": self.policy.to_dict(),
            "kept": [d.to_dict() for d in self.kept],
            "dropped": [d.to_dict() for d in self.dropped],
        }
