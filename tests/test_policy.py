"""RelevancePolicy: thresholds, fail-open, verdicts, nothing lost."""

from __future__ import annotations

import json

import pytest

from crossrank import DropReason, Gate, RelevancePolicy, Score, Verdict
from crossrank.calibration import sigmoid
from crossrank.policy import parse_threshold

TEXTS = ["a", "b", "c", "d"]
LOGITS = [0.5, 3.0, -2.0, 1.0]  # ranking: b, d, a, c
SCORES = [Score(logit=x, probability=sigmoid(x)) for x in LOGITS]


def _texts(docs):
    return [d.text for d in docs]


def test_no_threshold_keeps_everything_sorted_and_says_ungated():
    result = RelevancePolicy(min_probability=None).apply("q", TEXTS, SCORES)
    assert _texts(result.kept) == ["b", "d", "a", "c"]
    assert [d.rank for d in result.kept] == [1, 2, 3, 4]
    assert result.dropped == []
    assert result.verdict is Verdict.UNGATED  # nothing was checked, so nothing is claimed relevant
    assert result.gate == Gate(None, "none")


def test_the_default_gates_at_the_models_recommended_threshold():
    recommended = Gate(sigmoid(0.9), "model")
    result = RelevancePolicy().apply("q", TEXTS, SCORES, recommended=recommended)
    assert _texts(result.kept) == ["b", "d"]
    assert result.verdict is Verdict.RELEVANT and result.gate == recommended
    fitted = RelevancePolicy().apply("q", TEXTS, SCORES, recommended=Gate(0.99, "fitted"))
    assert fitted.verdict is Verdict.NONE and fitted.gate.source == "fitted"
    # The user's number wins over the model's.
    user = RelevancePolicy(min_probability=0.99).apply("q", TEXTS, SCORES, recommended=recommended)
    assert user.gate == Gate(0.99, "user") and user.verdict is Verdict.NONE
    data = json.loads(json.dumps(result.to_dict()))
    assert (data["threshold"], data["threshold_source"]) == (pytest.approx(sigmoid(0.9)), "model")


def test_the_default_without_a_model_threshold_is_ungated_not_relevant():
    result = RelevancePolicy().apply("q", TEXTS, SCORES)
    assert result.verdict is Verdict.UNGATED and result.gate == Gate(None, "none")
    assert RelevancePolicy(top_n=1).apply("q", TEXTS, SCORES, recommended=None).verdict is Verdict.UNGATED


def test_the_weak_band_keeps_what_reaches_its_floor():
    policy = RelevancePolicy(min_probability=0.99, weak_min_probability=sigmoid(0.9))
    result = policy.apply("q", TEXTS, SCORES)
    assert result.verdict is Verdict.WEAK
    assert [(d.text, d.passed) for d in result.kept] == [("b", False), ("d", False)]
    assert {d.drop_reason for d in result.dropped} == {DropReason.BELOW_MIN_PROBABILITY}
    # Below the floor too: none, everything dropped.
    assert (
        RelevancePolicy(min_probability=0.99, weak_min_probability=0.98).apply("q", TEXTS, SCORES).verdict
        is Verdict.NONE
    )
    # The band is capped by top_n, and it is unused when something passes.
    capped = RelevancePolicy(top_n=1, min_probability=0.99, weak_min_probability=0.5).apply(
        "q", TEXTS, SCORES
    )
    assert _texts(capped.kept) == ["b"] and capped.verdict is Verdict.WEAK
    passing = RelevancePolicy(min_probability=sigmoid(2.0), weak_min_probability=0.5).apply(
        "q", TEXTS, SCORES
    )
    assert _texts(passing.kept) == ["b"] and passing.verdict is Verdict.RELEVANT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.4", 0.4),
        ("model", "model"),
        ("MODEL", "model"),
        ("none", None),
        ("off", None),
        (None, None),
        (0.3, 0.3),
    ],
)
def test_thresholds_parse_from_text(text, expected):
    assert parse_threshold(text) == expected


@pytest.mark.parametrize("text", ["1.5", "high", "-0.1", True])
def test_bad_thresholds_name_the_setting_and_the_choices(text):
    with pytest.raises(ValueError, match=r"--min-probability must be a probability in \[0, 1\], 'model'"):
        parse_threshold(text, "--min-probability")


def test_top_n_drops_the_rest_with_reason():
    result = RelevancePolicy(top_n=2).apply("q", TEXTS, SCORES)
    assert _texts(result.kept) == ["b", "d"]
    assert _texts(result.dropped) == ["a", "c"]
    assert {d.drop_reason for d in result.dropped} == {DropReason.BEYOND_TOP_N}


def test_min_probability_gates_on_probability():
    result = RelevancePolicy(min_probability=sigmoid(0.9)).apply(
        "q", TEXTS, SCORES, recommended=Gate(0.1, "model")
    )
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
    result = RelevancePolicy(top_n=1, min_probability=0.5).apply("q", TEXTS, SCORES)
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
        {"min_probability": "strict"},
        {"weak_min_probability": 1.5},
        {"min_probability": 0.3, "weak_min_probability": 0.4},
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


def test_metadata_speaks_only_the_one_field_vocabulary() -> None:
    from crossrank.policy import RERANK_FIELDS, RETRIEVAL_FIELDS, RankedDocument

    full = RankedDocument(4, "t", -1.0, 0.2, 2, rank=3, passed=False,
                          drop_reason=DropReason.BEYOND_TOP_N, fused_score=0.5)  # fmt: skip
    assert tuple(full.metadata()) == RERANK_FIELDS
    bare = RankedDocument(0, "t", 1.5, 0.82, 1, rank=1, passed=True)
    assert set(bare.metadata()) == set(RERANK_FIELDS) - {"drop_reason", "fused_score"}
    original = {"source": "a.md", "retrieval_rank": 9}
    annotated = full.annotate(original, retrieval_score=0.61)
    assert set(annotated) == {"source", *RETRIEVAL_FIELDS, *RERANK_FIELDS}
    assert (
        annotated["retrieval_rank"] == 9 and annotated["retrieval_score"] == 0.61
    )  # the caller's rank is kept
    assert original == {"source": "a.md", "retrieval_rank": 9}  # inputs are never mutated


def test_a_policy_from_an_objects_fields_takes_the_names_it_has_and_defaults_the_rest() -> None:
    from types import SimpleNamespace

    source = SimpleNamespace(top_n=2, min_probability=0.4, min_keep=1, unrelated="ignored")
    policy = RelevancePolicy.from_fields(source)
    assert (policy.top_n, policy.min_probability, policy.min_keep) == (2, 0.4, 1)
    assert policy.min_relative == RelevancePolicy().min_relative and policy.fusion is None
    with pytest.raises(ValueError, match="min_keep"):
        RelevancePolicy.from_fields(SimpleNamespace(top_n=1, min_keep=3))  # the policy's own checks still run
