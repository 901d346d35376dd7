"""The one home of the sigmoid, the logit and Platt fitting (``crossrank.calibration``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossrank.calibration import fit_platt, logit_of, sigmoid, sigmoids


def test_sigmoid_and_logit_are_inverse_and_safe_at_the_extremes() -> None:
    for x in (-30.0, -2.5, 0.0, 1.0, 30.0):
        assert math.isclose(logit_of(sigmoid(x)), x, abs_tol=1e-5) or abs(x) > 15
    assert sigmoid(-1000.0) == 0.0 and sigmoid(1000.0) == 1.0
    assert logit_of(0.0) < -15 and logit_of(1.0) > 15
    assert sigmoids([-1000.0, 0.0, 1000.0]).tolist() == [0.0, 0.5, 1.0]
    assert np.allclose(sigmoids([-2.0, 3.0]), [sigmoid(-2.0), sigmoid(3.0)])


def test_platt_fit_recovers_the_generating_curve() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(0.0, 2.0, 4000)
    labels = (rng.random(4000) < 1.0 / (1.0 + np.exp(-(1.5 * scores - 1.0)))).astype(float)
    a, b = fit_platt(scores, labels)
    assert a == pytest.approx(1.5, abs=0.15)
    assert b == pytest.approx(-1.0, abs=0.15)


def test_soft_labels_fit_like_the_hard_labels_they_average() -> None:
    # A label of 0.25 is one relevant judgement out of four: the same likelihood.
    scores = [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    soft = [0.0, 0.25, 0.5, 0.5, 0.75, 1.0]
    hard_scores = [s for s in scores for _ in range(4)]
    hard = [float(k < round(y * 4)) for y in soft for k in range(4)]
    assert fit_platt(scores, soft, strength=1e6) == pytest.approx(
        fit_platt(hard_scores, hard, strength=1e6), rel=1e-3
    )


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [([], [], "non-empty"), ([1.0, 2.0], [1.0], "one length"), ([1.0, 2.0], [0.0, 1.5], r"in \[0, 1\]")],
)
def test_platt_fit_rejects_bad_input(scores: list[float], labels: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_platt(scores, labels)
