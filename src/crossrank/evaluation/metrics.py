"""Retrieval metrics through ``ranx``: scores per run and paired significance tests between runs.

Example:
    ```python
    table = compare_runs({"q1": {"a": 1}}, {"bm25": {"q1": {"b": 2.0, "a": 1.0}},
                                            "reranked": {"q1": {"a": 2.0, "b": 1.0}}}, ["mrr@10"])
    table.scores["reranked"]["mrr@10"], table.scores["bm25"]["mrr@10"]
    # -> (1.0, 0.5)
    ```
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crossrank.data import Qrels, Run

DEFAULT_METRICS: tuple[str, ...] = ("ndcg@10", "mrr@10", "recall@10", "recall@100", "map@100")
"""NDCG@10 and MRR@10 for the top of the list, Recall for what reaches the reranker, MAP overall."""


@dataclass(frozen=True)
class MetricsTable:
    """Metric scores per run and which differences are significant.

    Attributes:
        metrics: Metric names, in ranx notation (``ndcg@10``, ``recall@100``, ...).
        scores: run name -> metric -> mean over queries (queries a run misses count as 0).
        p_values: run name -> other run -> metric -> two-sided paired t-test p-value.
        queries: How many judged queries were evaluated.
    """

    metrics: list[str]
    scores: dict[str, dict[str, float]]
    p_values: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    queries: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (plain floats; an undefined p-value is ``None``)."""
        return {"metrics": self.metrics, "queries": self.queries, "scores": self.scores, "p_values": self.p_values}


def _plain(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def compare_runs(
    qrels: Qrels,
    runs: Mapping[str, Run],
    metrics: Sequence[str] = DEFAULT_METRICS,
    max_p: float = 0.05,
) -> MetricsTable:
    """Evaluate every run on ``qrels`` with ``ranx.compare`` (paired Student's t-test).

    Args:
        qrels: query id -> {doc id: grade}.
        runs: run name -> run. Judged queries a run does not answer score 0.
        metrics: ranx metric names.
        max_p: Significance level used by ranx for its report.

    Raises:
        ValueError: No runs, or a run that answers none of the judged queries.
    """
    from ranx import Qrels as RanxQrels
    from ranx import Run as RanxRun
    from ranx import compare

    if not runs:
        raise ValueError("compare_runs needs at least one run")
    ranx_qrels = RanxQrels({q: dict(d) for q, d in qrels.items()})
    ranx_runs = []
    for name, run in runs.items():
        kept = {q: dict(d) for q, d in run.items() if d and q in qrels}
        if not kept:
            raise ValueError(f"run {name!r} has no documents for any judged query")
        ranx_runs.append(RanxRun(kept, name=name))
    report = compare(ranx_qrels, ranx_runs, list(metrics), max_p=max_p, make_comparable=True)
    data = report.to_dict()
    scores = {name: {m: float(data[name]["scores"][m]) for m in metrics} for name in runs}
    p_values = {
        name: {
            other: {m: _plain(p) for m, p in per_metric.items()}
            for other, per_metric in data[name].get("comparisons", {}).items()
        }
        for name in runs
    }
    return MetricsTable(metrics=list(metrics), scores=scores, p_values=p_values, queries=len(qrels))
