"""The relevance gate: which reranked documents are relevant enough to hand to an LLM.

A ``RelevancePolicy`` turns a list of scores into a ``RerankResult`` (``crossrank.results``):
the kept documents in rank order, every dropped document with its score and the reason it
was dropped (nothing is silently lost), and a ``Verdict`` that downstream code
branches on: generate, warn, or fall back. ``rank_order`` is the one ranking rule.

Example:
    ```python
    from crossrank import RelevancePolicy, Score
    RelevancePolicy(top_n=1, min_probability=0.5).apply("q", ["a", "b"], [Score(-1.0, 0.27), Score(2.0, 0.88)]).kept[0].index
    # -> 1
    ```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Final, Literal

from crossrank.fusion import Fusion, fuse

# The result types live in crossrank.results; they stay importable from here, where they were first.
from crossrank.results import (
    RERANK_FIELDS,
    RETRIEVAL_FIELDS,
    DropReason,
    Gate,
    GateSource,
    RankedDocument,
    RerankResult,
    Verdict,
)
from crossrank.scores import Score

__all__ = [
    "MODEL_THRESHOLD",
    "RERANK_FIELDS",
    "RETRIEVAL_FIELDS",
    "DropReason",
    "Gate",
    "GateSource",
    "RankedDocument",
    "RelevancePolicy",
    "RerankResult",
    "ThresholdChoice",
    "Verdict",
    "parse_threshold",
    "rank_order",
]


MODEL_THRESHOLD: Final = "model"
"""``min_probability="model"``: gate at the recommended threshold of the model that scored."""

ThresholdChoice = float | Literal["model"] | None
"""A ``min_probability`` as users give it: a number, ``"model"`` or ``None`` (ungated)."""


def parse_threshold(value: object, where: str = "min_probability") -> ThresholdChoice:
    """Read a threshold given as text or a number: ``"model"``, ``"none"``/``"off"`` or a probability.

    Raises:
        ValueError: Naming ``where`` and the accepted forms.

    Example:
        ```python
        parse_threshold("0.4")    # 0.4
        parse_threshold("model")  # 'model'
        parse_threshold("none")   # None
        ```
    """
    if value is None or value == MODEL_THRESHOLD:
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("none", "off", "ungated"):
            return None
        if text == MODEL_THRESHOLD:
            return MODEL_THRESHOLD
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                f"{where} must be a probability in [0, 1], 'model' (the model's recommended threshold) "
                f"or 'none' (ungated), got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{where} must be a probability in [0, 1], 'model' or 'none', got {value!r}")
    return float(value)


def rank_order(scores: Sequence[Score], fused: Sequence[float] | None = None) -> list[int]:
    """Positions of ``scores``, best first: crossrank's one ranking rule.

    By logit (calibration is monotonic, and the logit still separates documents whose
    probabilities round to 1.0), or by ``fused`` values when the policy fuses with the
    first stage; ties keep the retrieval order.

    Example:
        ```python
        rank_order([Score(0.5, 0.62), Score(2.0, 0.88), Score(0.5, 0.62)])
        # -> [1, 0, 2]
        ```
    """
    keys = [s.logit for s in scores] if fused is None else list(fused)
    return sorted(range(len(keys)), key=lambda i: (-keys[i], i))


@dataclass(frozen=True)
class RelevancePolicy:
    """Thresholds that decide which reranked documents are relevant enough.

    Args:
        top_n: Keep at most this many documents (``None``: no limit).
        min_probability: Absolute gate on the (calibrated) probability, in [0, 1];
            ``"model"`` (the default): the recommended threshold saved with the model
            that scored (see ``Calibration.threshold``); ``None``: ungated (documents
            are kept by rank and the verdict says ``ungated``).
        min_relative: A document must reach at least this fraction of the best
            document's probability, in [0, 1].
        min_keep: Fail-open floor: always keep this many of the best documents, even
            below threshold (they are flagged ``passed=False`` and the verdict
            becomes ``weak`` when none passed). Must not exceed ``top_n``.
        fusion: Order by the cross-encoder fused with the first stage (a ``Fusion``;
            ``None``: the cross-encoder alone). Thresholds and the verdict still use the
            calibrated probability; fusion changes the order only.
        weak_min_probability: The weak band: when nothing reaches the threshold, the
            documents at or above this probability are kept (flagged ``passed=False``,
            verdict ``weak``) instead of none. ``None``: no weak band.

    Raises:
        ValueError: On ``top_n < 1``, a threshold outside [0, 1], a negative
            ``min_keep`` or ``min_keep > top_n``.

    Example:
        ```python
        policy = RelevancePolicy(top_n=3, min_probability=0.2, min_keep=1)
        policy.top_n
        # -> 3
        ```
    """

    top_n: int | None = None
    min_probability: ThresholdChoice = MODEL_THRESHOLD
    min_relative: float | None = None
    min_keep: int = 0
    fusion: Fusion | None = None
    weak_min_probability: float | None = None

    def __post_init__(self) -> None:
        if self.top_n is not None and (isinstance(self.top_n, bool) or not isinstance(self.top_n, int)):
            raise ValueError(f"top_n must be an int >= 1 or None, got {self.top_n!r}")
        if self.top_n is not None and self.top_n < 1:
            raise ValueError(f"top_n must be >= 1 or None, got {self.top_n}")
        if self.min_probability != MODEL_THRESHOLD:
            value = self.min_probability
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0.0 <= float(value) <= 1.0
            ):
                raise ValueError(
                    f"min_probability must be a number in [0, 1], 'model' (the model's recommended "
                    f"threshold) or None (ungated), got {value!r}"
                )
        for name in ("min_relative", "weak_min_probability"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0.0 <= float(value) <= 1.0
            ):
                raise ValueError(f"{name} must be a number in [0, 1] or None, got {value!r}")
        if (
            isinstance(self.min_probability, (int, float))
            and self.weak_min_probability is not None
            and self.weak_min_probability > self.min_probability
        ):
            raise ValueError(
                f"weak_min_probability ({self.weak_min_probability}) must not exceed "
                f"min_probability ({self.min_probability})"
            )
        if isinstance(self.min_keep, bool) or not isinstance(self.min_keep, int) or self.min_keep < 0:
            raise ValueError(f"min_keep must be an int >= 0, got {self.min_keep!r}")
        if self.top_n is not None and self.min_keep > self.top_n:
            raise ValueError(f"min_keep ({self.min_keep}) must not exceed top_n ({self.top_n})")
        if self.fusion is not None and not isinstance(self.fusion, Fusion):
            raise ValueError(f"fusion must be a crossrank.fusion.Fusion or None, got {self.fusion!r:.80}")

    @classmethod
    def from_fields(cls, source: object) -> RelevancePolicy:
        """The policy described by an object's attributes of the same names (the rest left at their defaults).

        One place that turns a configuration into a gate: the framework adapters' fields
        and ``RagSettings`` both go through it, so a policy field added here reaches each
        of them by name.

        Example:
            ```python
            RelevancePolicy.from_fields(RagSettings(top_n=3, min_probability=0.3)).top_n
            # -> 3
            ```
        """
        given = {f.name: getattr(source, f.name) for f in fields(cls) if hasattr(source, f.name)}
        return cls(**given)

    def to_dict(self) -> dict[str, Any]:
        """The policy's settings as a JSON-ready dict."""
        return {
            "top_n": self.top_n,
            "min_probability": self.min_probability,
            "min_relative": self.min_relative,
            "min_keep": self.min_keep,
            "fusion": None if self.fusion is None else self.fusion.to_dict(),
            "weak_min_probability": self.weak_min_probability,
        }

    def gate(self, recommended: Gate | None = None) -> Gate:
        """The threshold this policy applies, given the scoring model's recommended one.

        Example:
            ```python
            RelevancePolicy().gate(Gate(0.49, "model"))        # Gate(0.49, 'model')
            RelevancePolicy(min_probability=0.3).gate()        # Gate(0.3, 'user')
            RelevancePolicy(min_probability=None).gate()       # Gate(None, 'none')
            ```
        """
        if self.min_probability == MODEL_THRESHOLD:
            if recommended is None or recommended.threshold is None:
                return Gate(None, "none")
            return recommended
        if self.min_probability is None:
            return Gate(None, "none")
        return Gate(float(self.min_probability), "user")

    def _failure(self, probability: float, best: float, threshold: float | None) -> DropReason | None:
        if threshold is not None and probability < threshold:
            return DropReason.BELOW_MIN_PROBABILITY
        if self.min_relative is not None and probability < self.min_relative * best:
            return DropReason.BELOW_MIN_RELATIVE
        return None

    def apply(
        self,
        query: str,
        texts: Sequence[str],
        scores: Sequence[Score],
        first_stage_scores: Sequence[float] | None = None,
        recommended: Gate | None = None,
    ) -> RerankResult:
        """Rank ``texts`` by their ``scores`` and gate them.

        Args:
            query: The query the scores answer.
            texts: The candidate texts, in retrieval order.
            scores: One score per text, same order.
            first_stage_scores: The retriever's score per text (higher is better), used
                only when the policy fuses (``fusion``); without them fusion uses the
                retrieval order.
            recommended: The scoring model's recommended threshold, applied when
                ``min_probability="model"`` (the scorer passes it; without one such a
                policy runs ungated and says so).

        Returns:
            A ``RerankResult`` with every candidate either kept or dropped.

        Example:
            ```python
            from crossrank import Score
            r = RelevancePolicy(min_probability=0.9, min_keep=1).apply(
                "q", ["a", "b"], [Score(0.0, 0.5), Score(1.0, 0.73)])
            r.verdict.value, r.kept[0].text, r.kept[0].passed
            # -> ('weak', 'b', False)
            ```
        """
        if len(texts) != len(scores):
            raise ValueError(f"got {len(texts)} texts but {len(scores)} scores")
        fused: list[float] | None = None
        if self.fusion is not None:
            fused = fuse(self.fusion, [s.logit for s in scores], first_stage_scores)
        order = rank_order(scores, fused)
        gate = self.gate(recommended)
        best = max((s.probability for s in scores), default=0.0)  # with fusion, not always the first
        failures = {i: self._failure(scores[i].probability, best, gate.threshold) for i in order}
        passing = [i for i in order if failures[i] is None]
        kept_passing = passing if self.top_n is None else passing[: self.top_n]
        kept = set(kept_passing)
        floor = self.min_keep
        if not kept_passing and self.weak_min_probability is not None:
            in_band = sum(1 for i in order if scores[i].probability >= self.weak_min_probability)
            floor = max(floor, in_band if self.top_n is None else min(in_band, self.top_n))
        if len(kept) < floor:
            for i in order:
                if len(kept) >= floor:
                    break
                kept.add(i)

        kept_docs: list[RankedDocument] = []
        dropped_docs: list[RankedDocument] = []
        for rank, i in enumerate(order, start=1):
            is_kept = i in kept
            reason = failures[i]
            if not is_kept and reason is None:
                reason = DropReason.BEYOND_TOP_N
            doc = RankedDocument(
                index=i,
                text=texts[i],
                logit=float(scores[i].logit),
                probability=float(scores[i].probability),
                windows=int(scores[i].windows),
                rank=rank,
                passed=failures[i] is None,
                drop_reason=None if is_kept else reason,
                fused_score=None if fused is None else float(fused[i]),
            )
            (kept_docs if is_kept else dropped_docs).append(doc)

        if not kept_docs:
            verdict = Verdict.NONE
        elif gate.threshold is None:
            verdict = Verdict.UNGATED
        elif kept_passing:
            verdict = Verdict.RELEVANT
        else:
            verdict = Verdict.WEAK
        return RerankResult(
            query=query, kept=kept_docs, dropped=dropped_docs, verdict=verdict, policy=self, gate=gate
        )
