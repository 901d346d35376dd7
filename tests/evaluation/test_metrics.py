"""ranx metrics (crossrank.evaluation.metrics) on hand-made runs with known answers."""

from __future__ import annotations

import math

import pytest

from crossrank.evaluation.metrics import compare_runs

QRELS = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}


# q1: relevant a at rank 2; q2: relevant b at rank 1 and c at rank 3.
RUN = {"q1": {"x": 3.0, "a": 2.0, "z": 1.0}, "q2": {"b": 3.0, "y": 2.0, "c": 1.0}}


PERFECT = {"q1": {"a": 3.0, "x": 2.0}, "q2": {"b": 3.0, "c": 2.0, "y": 1.0}}


def test_metrics_match_hand_computation() -> None:
    table = compare_runs(
        QRELS, {"run": RUN, "perfect": PERFECT}, ["mrr@10", "ndcg@10", "recall@2", "map@100"]
    )
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
