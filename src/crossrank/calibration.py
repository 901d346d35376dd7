"""Mapping a model's raw logits to calibrated probabilities: the one home of the sigmoid,
the logit and every Platt or temperature fit in crossrank.

A calibration lives beside a model as ``crossrank_calibration.json`` and the scorer
applies it automatically, so ``min_probability=0.3`` means the same thing for every
model that has one. It also carries the model's recommended threshold: the gate every
crossrank surface applies when the user sets none (``min_probability="model"``).

Fitting (:func:`fit_calibration`, :func:`fit_platt`) imports scikit-learn and SciPy
only when called, so loading a model never pays for them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # numpy is imported by the functions that need it: `crossrank --help` stays light
    import numpy as np

ThresholdSource = Literal["model", "fitted"]
Method = Literal["platt", "temperature"]
METHODS: tuple[Method, ...] = ("platt", "temperature")
CALIBRATION_FILE = "crossrank_calibration.json"


def sigmoid(x: float) -> float:
    """A numerically safe logistic function.

    Example:
        ```python
        sigmoid(0.0)
        # -> 0.5
        ```
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def logit_of(probability: float, eps: float = 1e-7) -> float:
    """The log-odds of a probability, clipped away from 0 and 1.

    Example:
        ```python
        round(logit_of(0.5), 6)
        # -> 0.0
        ```
    """
    p = min(max(float(probability), eps), 1.0 - eps)
    return math.log(p / (1.0 - p))


def sigmoids(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """:func:`sigmoid` of every value, as a float64 array.

    Example:
        ```python
        sigmoids([0.0, 100.0]).tolist()
        # -> [0.5, 1.0]
        ```
    """
    import numpy as np
    from scipy.special import expit

    return np.asarray(expit(np.asarray(values, dtype=np.float64)), dtype=np.float64)


def fit_platt(
    scores: Sequence[float] | np.ndarray, labels: Sequence[float] | np.ndarray, strength: float = 1.0
) -> tuple[float, float]:
    """Fit ``p = sigmoid(a * score + b)`` by maximum likelihood (logistic regression).

    Labels may be soft (any value in [0, 1], e.g. averaged judgements): each score then
    counts as a positive with weight ``label`` and a negative with weight ``1 - label``,
    which is the same likelihood. ``strength`` is scikit-learn's ``C``: the mild L2
    penalty keeps cleanly separated data from driving the slope to infinity.

    Raises:
        ValueError: Mismatched or empty inputs, or labels outside [0, 1].

    Example:
        ```python
        a, b = fit_platt([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
        a > 0
        # -> True
        ```
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError(
            f"scores and labels must be non-empty 1-D sequences of one length, got {x.shape} and {y.shape}"
        )
    if np.any((y < 0) | (y > 1)) or not np.all(np.isfinite(x)):
        raise ValueError("labels must be in [0, 1] and scores finite")
    features = np.concatenate([x, x]).reshape(-1, 1)
    targets = np.concatenate([np.ones_like(y), np.zeros_like(y)])
    weights = np.concatenate([y, 1.0 - y])
    model = LogisticRegression(C=strength, solver="lbfgs", max_iter=1000)
    model.fit(features, targets, sample_weight=weights)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


@dataclass(frozen=True)
class Calibration:
    """``probability = sigmoid(a * logit + b)``; temperature scaling is ``a = 1/T, b = 0``.

    Attributes:
        method: ``"platt"`` or ``"temperature"`` (how ``a`` and ``b`` were fitted).
        a: Slope on the logit; must be positive so ranking is unchanged.
        b: Offset.
        threshold: The recommended ``min_probability``: the lowest calibrated probability
            that reached ``precision`` on the pairs it was fitted for (``None``: no
            recommendation, surfaces that default to the model's threshold run ungated).
        precision: The precision ``threshold`` reached there.
        source: ``"model"`` when it shipped with the model, ``"fitted"`` when
            ``crossrank calibrate`` fitted it to the user's own documents.

    Example:
        ```python
        cal = Calibration("platt", a=0.6, b=-3.9, threshold=0.49, precision=0.8)
        cal.probability(8.0)   # 0.6...
        cal.save("path/to/model")
        ```
    """

    method: Literal["platt", "temperature"] = "platt"
    a: float = 1.0
    b: float = 0.0
    threshold: float | None = None
    precision: float | None = None
    source: ThresholdSource = "model"

    def __post_init__(self) -> None:
        if not self.a > 0:
            raise ValueError(f"calibration slope a must be > 0 to keep the ranking, got {self.a}")
        for name in ("threshold", "precision"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"calibration {name} must be in [0, 1] or None, got {value!r}")
        if self.source not in ("model", "fitted"):
            raise ValueError(f"calibration source must be 'model' or 'fitted', got {self.source!r}")

    def probability(self, logit: float) -> float:
        """The calibrated probability of a logit."""
        return sigmoid(self.a * logit + self.b)

    def save(self, model_dir: str | Path) -> Path:
        """Write this calibration beside a model; returns the file written."""
        path = Path(model_dir) / CALIBRATION_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, model_dir: str | Path) -> Calibration | None:
        """The calibration saved beside a model, or ``None`` when there is none."""
        path = Path(model_dir) / CALIBRATION_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            threshold, precision = data.get("threshold"), data.get("precision")
            return cls(
                method=data.get("method", "platt"),
                a=float(data["a"]),
                b=float(data["b"]),
                threshold=None if threshold is None else float(threshold),
                precision=None if precision is None else float(precision),
                source=data.get("source", "model"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a valid crossrank calibration ({exc})") from exc


def fit_calibration(
    logits: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray, method: Method = "platt"
) -> Calibration:
    """Fit ``probability = sigmoid(a * logit + b)`` on labelled (logit, relevant) pairs.

    ``platt`` fits ``a`` and ``b`` (:func:`fit_platt`); ``temperature`` fits ``a = 1/T``
    with ``b = 0`` (SciPy's bounded scalar minimiser on the negative log-likelihood).

    Raises:
        ValueError: Fewer than one positive and one negative pair, an unknown method,
            or a fit that would invert the ranking (``a <= 0``).

    Example:
        ```python
        fit_calibration([-4.0, -1.0, 1.0, 4.0] * 5, [0, 1, 0, 1] * 5, "temperature").method
        # -> 'temperature'
        ```
    """
    import numpy as np

    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; choose one of {METHODS}")
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("logits and labels must be 1-D arrays of the same length")
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        raise ValueError(
            f"calibration needs both relevant and non-relevant pairs; got {positives} relevant of {len(y)}"
        )
    if method == "platt":
        a, b = fit_platt(x, y)
    else:
        from scipy.optimize import minimize_scalar

        def nll(log_a: float) -> float:
            p = np.clip(sigmoids(np.exp(log_a) * x), 1e-12, 1 - 1e-12)
            return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())

        a, b = float(np.exp(minimize_scalar(nll, bounds=(-8.0, 8.0), method="bounded").x)), 0.0
    if a <= 0:
        raise ValueError(
            f"the fitted slope is {a:.4g}: on these pairs higher logits mean *less* relevant, "
            "so the model (or the labels) cannot be calibrated by rescaling"
        )
    return Calibration(method=method, a=a, b=b)
