"""ranx metrics on hand-made runs with known answers; the threshold sweep on hand-made probabilities."""

from __future__ import annotations

import math

import pytest

from crossrank.evaluation.metrics import compare_runs
from crossrank.evaluation.thresholds import threshold_analysis

QRELS = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}
# q1: relevant a at rank 2; q2: relevant b at rank 1 and c at rank 3.
RUN = {"q1": {"x": 3.0, "a": 2.0, "z": 1.0}, "q2": {"b": 3.0, "y": 2.0, "c": 1.0}}
PERFECT = {"q1": {"a": 3.0, "x": 2.0}, "q2": {"b": 3.0, "c": 2.0, "y": 1.0}}


def test_metrics_match_hand_computation() -> None:
    table = compare_runs(QRELS, {"run": RUN, "perfect": PERFECT}, ["mrr@10", "ndcg@10", "recall@2", "map@100"])
    scores = table.scores["run"]
    assert scores["mrr@10"] == pytest.approx((1 / 2 + 1) / 2)
    ndcg_q1 = 1 / math.log2(3)
    ndcg_q2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert scores["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2)
    assert scores["recall@2"] == pytest.approx((1 + 1 / 2) / 2)
    assert scores["map@100"] == pytest.approx((1 / 2 + (1 + 2 / 3) / 2) / 2)
    assert all(v == pytest.approx(1.0) for v in table.scores["perfect"].values())
    assert set(table.p_values["run"]) == {"perfect"}
    assert table.queries == 2
    assert type(scores["mrr@10"]) is float


def test_unanswered_judged_queries_count_as_zero() -> None:
    table = compare_runs({**QRELS, "q3": {"d": 1}}, {"perfect": PERFECT}, ["mrr@10"])
    assert table.scores["perfect"]["mrr@10"] == pytest.approx(2 / 3)


def test_run_with_no_judged_query_is_an_error() -> None:
    with pytest.raises(ValueError, match="run 'other' has no documents for any judged query"):
        compare_runs(QRELS, {"other": {"q9": {"a": 1.0}}}, ["mrr@10"])


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
