"""The threshold sweep (crossrank.evaluation.thresholds) on hand-made probabilities."""

from __future__ import annotations

import pytest

from crossrank.evaluation.thresholds import threshold_analysis


def test_threshold_sweep_counts_each_kind_of_error() -> None:
    probabilities = {
        "q1": {"a": 0.9, "x": 0.3},  # relevant top 0.9; with the answer removed: x at 0.3
        "q2": {"y": 0.6, "b": 0.4},  # irrelevant top y at 0.6; answer removed: y at 0.6
        "q3": {"c": 0.2, "z": 0.1},  # relevant top, but weak (0.2); answer removed: z at 0.1
        "unjudged": {"k": 0.99},  # not in qrels: ignored
    }
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 2}}
    analysis = threshold_analysis(probabilities, qrels, thresholds=[0.0, 0.25, 0.5, 0.95])
    assert (analysis.relevant_tops, analysis.irrelevant_tops, analysis.answer_removed_cases) == (2, 4, 3)
    by_t = {row.threshold: row for row in analysis.rows}
    # irrelevant tops: 0.6 (q2), 0.3 (q1 removed), 0.6 (q2 removed), 0.1 (q3 removed)
    assert by_t[0.25].let_through_irrelevant == pytest.approx(3 / 4)
    assert by_t[0.5].let_through_irrelevant == pytest.approx(2 / 4)
    assert by_t[0.25].withheld_relevant == pytest.approx(1 / 2)  # q3's 0.2
    assert by_t[0.0].withheld_relevant == 0.0 and by_t[0.0].passed == 1.0
    assert by_t[0.95].let_through_irrelevant == 0.0 and by_t[0.95].withheld_relevant == 1.0
    assert analysis.suggest(0.5).threshold == 0.5
    assert analysis.to_dict()["rows"][1]["threshold"] == 0.25


def test_threshold_sweep_without_answer_removal() -> None:
    analysis = threshold_analysis({"q1": {"a": 0.9, "x": 0.3}}, {"q1": {"a": 1}}, [0.5], answer_removed=False)
    assert (analysis.relevant_tops, analysis.irrelevant_tops) == (1, 0)


def test_threshold_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"thresholds must be in \[0, 1\], got 1.5"):
        threshold_analysis({"q1": {"a": 0.9}}, {"q1": {"a": 1}}, [1.5])
