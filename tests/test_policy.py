"""RelevancePolicy: thresholds, fail-open, verdicts, nothing lost."""

from __future__ import annotations

import json

import pytest

from crossrank import DropReason, RelevancePolicy, Score, Verdict
from crossrank.calibration import sigmoid

TEXTS = ["a", "b", "c", "d"]
LOGITS = [0.5, 3.0, -2.0, 1.0]  # ranking: b, d, a, c
SCORES = [Score(logit=x, probability=sigmoid(x)) for x in LOGITS]


def _texts(docs):
    return [d.text for d in docs]


def test_no_policy_keeps_everything_sorted():
    result = RelevancePolicy().apply("q", TEXTS, SCORES)
    assert _texts(result.kept) == ["b", "d", "a", "c"]
    assert [d.rank for d in result.kept] == [1, 2, 3, 4]
    assert result.dropped == []
    assert result.verdict is Verdict.RELEVANT


def test_top_n_drops_the_rest_with_reason():
    result = RelevancePolicy(top_n=2).apply("q", TEXTS, SCORES)
    assert _texts(result.kept) == ["b", "d"]
    assert _texts(result.dropped) == ["a", "c"]
    assert {d.drop_reason for d in result.dropped} == {DropReason.BEYOND_TOP_N}


def test_min_probability_gates_on_probability():
    result = RelevancePolicy(min_probability=sigmoid(0.9)).apply("q", TEXTS, SCORES)
    assert _texts(result.kept) == ["b", "d"]
    assert all(d.drop_reason is DropReason.BELOW_MIN_PROBABILITY for d in result.dropped)
    assert result.verdict is Verdict.RELEVANT


def test_min_relative_is_a_fraction_of_the_best():
    best = sigmoid(3.0)
    result = RelevancePolicy(min_relative=sigmoid(1.0) / best).apply("q", TEXTS, SCORES)
    assert _texts(result.kept) == ["b", "d"]
    assert {d.drop_reason for d in result.dropped} == {DropReason.BELOW_MIN_RELATIVE}


def test_nothing_passes_gives_none_and_keeps_every_document_in_dropped():
    result = RelevancePolicy(min_probability=0.99).apply("q", TEXTS, SCORES)
    assert result.verdict is Verdict.NONE
    assert result.kept == []
    assert sorted(d.index for d in result.dropped) == [0, 1, 2, 3]
    assert result.best_probability == pytest.approx(sigmoid(3.0))


def test_min_keep_fails_open_and_flags_below_threshold():
    result = RelevancePolicy(min_probability=0.99, min_keep=2).apply("q", TEXTS, SCORES)
    assert result.verdict is Verdict.WEAK
    assert _texts(result.kept) == ["b", "d"]
    assert [d.passed for d in result.kept] == [False, False]
    assert [d.drop_reason for d in result.kept] == [None, None]


def test_min_keep_tops_up_a_relevant_result():
    result = RelevancePolicy(min_probability=sigmoid(2.0), min_keep=2).apply("q", TEXTS, SCORES)
    assert result.verdict is Verdict.RELEVANT
    assert [(d.text, d.passed) for d in result.kept] == [("b", True), ("d", False)]


def test_ties_keep_retrieval_order():
    scores = [Score(1.0, sigmoid(1.0))] * 3
    assert [d.index for d in RelevancePolicy().apply("q", ["x", "y", "z"], scores).kept] == [0, 1, 2]


def test_empty_candidates_give_none():
    result = RelevancePolicy(min_keep=1, top_n=3).apply("q", [], [])
    assert result.verdict is Verdict.NONE and result.kept == [] and result.dropped == []
    assert result.best_probability is None


def test_result_is_json_ready_with_plain_types():
    result = RelevancePolicy(top_n=1).apply("q", TEXTS, SCORES)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["verdict"] == "relevant"
    assert data["dropped"][0]["drop_reason"] == "beyond_top_n"
    assert type(result.kept[0].probability) is float and type(result.kept[0].logit) is float


@pytest.mark.parametrize(
    "kwargs",
    [
        {"top_n": 0},
        {"top_n": -1},
        {"top_n": 1.5},
        {"min_probability": 1.1},
        {"min_probability": -0.1},
        {"min_relative": 2},
        {"min_keep": -1},
        {"top_n": 2, "min_keep": 3},
    ],
)
def test_invalid_settings_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        RelevancePolicy(**kwargs)


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="2 texts but 1 scores"):
        RelevancePolicy().apply("q", ["a", "b"], [Score(0.0, 0.5)])
