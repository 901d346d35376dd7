"""Calibration fits on real model scores: the tiny model's logits for real (query, passage) pairs."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_model import QA

from crossrank import Calibration, CrossEncoderScorer
from crossrank.calibration import fit_calibration
from crossrank.evaluation.calibration import (
    calibrate,
    expected_calibration_error,
    labelled_pairs,
    threshold_for_precision,
)

PASSAGES = [p for _, p, _ in QA] + [n for _, _, n in QA]


@pytest.fixture(scope="module")
def scored(tiny_model_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """Logits (queries x passages) and labels: query i's relevant passage is passage i."""
    scorer = CrossEncoderScorer(tiny_model_dir, device="cpu", calibration=None)
    logits = np.array(
        [[s.logit for s in group] for group in scorer.score_many([(q, PASSAGES) for q, _, _ in QA])]
    )
    labels = np.zeros_like(logits, dtype=np.int64)
    labels[np.arange(len(QA)), np.arange(len(QA))] = 1
    return logits, labels


@pytest.mark.parametrize("method", ["platt", "temperature"])
def test_fit_reduces_ece_on_held_out_queries(scored: tuple[np.ndarray, np.ndarray], method: str) -> None:
    logits, labels = scored
    # Fit on even queries, measure on odd ones: no pair is in both.
    report = calibrate(
        logits[::2].ravel(), labels[::2].ravel(), logits[1::2].ravel(), labels[1::2].ravel(), method
    )
    assert report.calibration.method == method
    assert report.calibration.a > 0
    assert report.ece_after < report.ece_before
    assert report.eval_pairs == logits[1::2].size and report.eval_positives == len(QA) // 2
    assert report.to_dict()["calibration"]["method"] == method


def test_saved_calibration_is_applied_by_the_scorer(tiny_model_dir: str, scored, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    logits, labels = scored
    calibration = fit_calibration(logits.ravel(), labels.ravel(), "platt")
    model_copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_copy)
    calibration.save(model_copy)
    assert Calibration.load(model_copy) == calibration
    scorer = CrossEncoderScorer(str(model_copy), device="cpu")
    score = scorer.score(QA[0][0], [QA[0][1]])[0]
    assert score.probability == pytest.approx(calibration.probability(score.logit))


def test_threshold_for_precision_and_labelled_pairs() -> None:
    probabilities = np.array([0.95, 0.9, 0.6, 0.5, 0.2])
    labels = np.array([1, 1, 0, 1, 0])
    assert threshold_for_precision(probabilities, labels, 1.0) == 0.9
    assert threshold_for_precision(probabilities, labels, 0.75) == 0.5
    logits, flat = labelled_pairs({"q": {"b": -1.0, "a": 2.0}, "unjudged": {"c": 5.0}}, {"q": {"a": 1}})
    assert logits.tolist() == [2.0, -1.0] and flat.tolist() == [1, 0]


def test_ece_and_bad_fits() -> None:
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([1, 0])) == 0.0
    assert expected_calibration_error(np.array([0.8, 0.8]), np.array([0, 0])) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="both relevant and non-relevant"):
        fit_calibration(np.array([1.0, 2.0]), np.array([1, 1]))
    with pytest.raises(ValueError, match="higher logits mean"):
        fit_calibration(np.array([-3.0, -2.0, 2.0, 3.0] * 5), np.array([1, 1, 0, 0] * 5), "platt")
