"""How a probability threshold on the top passage behaves on labelled data.

The relevance gate answers one question per query: is the best passage good enough
to hand to the generator? For a sweep of thresholds this module reports

* **let through**: of the queries whose top passage is *not* relevant, the share the
  gate still lets through (probability >= threshold): answers built on the wrong source;
* **withheld**: of the queries whose top passage *is* relevant, the share the gate
  blocks: answers lost.

Reranking a good first stage puts a relevant passage on top for most queries, which
leaves few irrelevant tops to learn from. The analysis therefore also asks, for each
query, what happens when retrieval missed: the same candidates with the judged-relevant
ones removed (``answer_removed``). Unjudged passages count as not relevant, the usual
convention; on sparsely judged sets this overstates "let through" a little.

Example:
    ```python
    analysis = threshold_analysis({"q": {"a": 0.9, "b": 0.2}}, {"q": {"a": 1}}, thresholds=[0.5])
    analysis.rows[0].withheld_relevant, analysis.rows[0].let_through_irrelevant
    # -> (0.0, 0.0)
    ```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from crossrank.data import Qrels

DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(i / 20, 2) for i in range(21))


@dataclass(frozen=True)
class ThresholdRow:
    """The gate's errors at one threshold.

    Attributes:
        threshold: Minimum probability of the top passage to pass.
        let_through_irrelevant: Share of irrelevant top passages that pass.
        withheld_relevant: Share of relevant top passages that are blocked.
        passed: Share of all cases that pass.
    """

    threshold: float
    let_through_irrelevant: float
    withheld_relevant: float
    passed: float


@dataclass(frozen=True)
class ThresholdAnalysis:
    """A threshold sweep and the cases it was computed on.

    Attributes:
        rows: One ``ThresholdRow`` per threshold, ascending.
        relevant_tops: Cases whose top passage is judged relevant.
        irrelevant_tops: Cases whose top passage is not (including ``answer_removed`` cases).
        answer_removed_cases: How many of those come from removing the judged answers.
    """

    rows: list[ThresholdRow]
    relevant_tops: int
    irrelevant_tops: int
    answer_removed_cases: int

    def suggest(self, max_let_through: float = 0.1) -> ThresholdRow | None:
        """The lowest threshold whose let-through rate is at most ``max_let_through`` (None if none is).

        Example:
            ```python
            a = threshold_analysis({"q": {"a": 0.9}, "r": {"b": 0.3}}, {"q": {"a": 1}}, [0.2, 0.5])
            a.suggest(0.0).threshold
            # -> 0.5
            ```
        """
        for row in self.rows:
            if row.let_through_irrelevant <= max_let_through:
                return row
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "relevant_tops": self.relevant_tops,
            "irrelevant_tops": self.irrelevant_tops,
            "answer_removed_cases": self.answer_removed_cases,
            "rows": [asdict(row) for row in self.rows],
        }


def _top(docs: Mapping[str, float]) -> tuple[str, float] | None:
    if not docs:
        return None
    return min(docs.items(), key=lambda item: (-item[1], item[0]))


def threshold_analysis(
    probabilities: Mapping[str, Mapping[str, float]],
    qrels: Qrels,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    *,
    answer_removed: bool = True,
) -> ThresholdAnalysis:
    """Sweep ``thresholds`` over the top passage of every judged query.

    Args:
        probabilities: query id -> {doc id: reranker probability} (the reranked candidates).
        qrels: query id -> {doc id: grade}; grade > 0 is relevant.
        thresholds: Probabilities to try.
        answer_removed: Also score each query's candidates with its judged-relevant
            documents removed (a retrieval miss), as extra irrelevant-top cases.

    Raises:
        ValueError: A threshold outside [0, 1], or no judged query among ``probabilities``.
    """
    for t in thresholds:
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"thresholds must be in [0, 1], got {t}")
    relevant: list[float] = []
    irrelevant: list[float] = []
    removed = 0
    for query_id in sorted(probabilities):
        if query_id not in qrels:
            continue
        judged = {d for d, grade in qrels[query_id].items() if grade > 0}
        docs = probabilities[query_id]
        top = _top(docs)
        if top is None:
            continue
        (relevant if top[0] in judged else irrelevant).append(top[1])
        if answer_removed and judged & docs.keys():
            missed = _top({d: p for d, p in docs.items() if d not in judged})
            if missed is not None:
                irrelevant.append(missed[1])
                removed += 1
    if not relevant and not irrelevant:
        raise ValueError("no judged query has candidates; nothing to analyse")
    rows = []
    total = len(relevant) + len(irrelevant)
    for t in sorted(thresholds):
        let_through = sum(p >= t for p in irrelevant)
        withheld = sum(p < t for p in relevant)
        rows.append(
            ThresholdRow(
                threshold=float(t),
                let_through_irrelevant=let_through / len(irrelevant) if irrelevant else 0.0,
                withheld_relevant=withheld / len(relevant) if relevant else 0.0,
                passed=(let_through + len(relevant) - withheld) / total,
            )
        )
    return ThresholdAnalysis(
        rows=rows, relevant_tops=len(relevant), irrelevant_tops=len(irrelevant), answer_removed_cases=removed
    )
