"""crossrank.retrieval.runs: the best k per query and the fusion of two runs (ranx), on hand-made runs."""

from __future__ import annotations

import pytest

from crossrank.retrieval.runs import fuse_runs, top_k

RUN = {"q1": {"a": 1.0, "b": 3.0, "c": 2.0, "d": 2.0}, "q2": {}}


def test_top_k_sorts_best_first_with_ties_by_doc_id_and_cuts() -> None:
    assert top_k(RUN, 3) == {"q1": {"b": 3.0, "c": 2.0, "d": 2.0}, "q2": {}}
    assert list(top_k(RUN, None)["q1"]) == ["b", "c", "d", "a"]  # None keeps every document
    assert RUN["q1"] == {"a": 1.0, "b": 3.0, "c": 2.0, "d": 2.0}  # the input is not changed


def test_top_k_refuses_k_below_one() -> None:
    with pytest.raises(ValueError, match="k must be >= 1"):
        top_k(RUN, 0)


def test_rrf_fusion_ranks_a_document_both_runs_rank_first() -> None:
    fused = fuse_runs({"q": {"a": 10.0, "b": 5.0}}, {"q": {"c": 0.9, "a": 0.8}})
    assert list(fused["q"]) == ["a", "c", "b"]
    assert fused["q"]["a"] == pytest.approx(1 / 61 + 1 / 62)  # ranx's RRF constant is 60


def test_a_query_one_run_answers_keeps_that_runs_order_on_the_rrf_scale() -> None:
    fused = fuse_runs({"q": {"a": 2.0}, "solo": {"x": 3.0, "y": 1.0}}, {"q": {"b": 0.5}, "solo": {}}, k=1)
    assert fused["solo"] == {"x": pytest.approx(1 / 61)}
    assert len(fused["q"]) == 1


def test_score_fusion_normalises_each_run() -> None:
    # wsum on min-max normalised scores, equal weights: each run's scores are mapped to [0, 1] first.
    fused = fuse_runs(
        {"q": {"a": 9.0, "b": 1.0, "c": 0.0}}, {"q": {"a": 0.0, "b": 100.0, "c": -5.0}}, method="wsum"
    )
    assert fused["q"]["a"] == pytest.approx(0.5 * (1.0 + 5 / 105))
    assert fused["q"]["b"] == pytest.approx(0.5 * (1 / 9 + 1.0))
    assert fused["q"]["c"] == pytest.approx(0.0)
