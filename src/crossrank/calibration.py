"""Mapping a model's raw logits to calibrated probabilities.

A calibration lives beside a model as ``crossrank_calibration.json`` and the scorer
applies it automatically, so ``min_probability=0.3`` means the same thing for every
model that has one. It also carries the model's recommended threshold: the gate every
crossrank surface applies when the user sets none (``min_probability="model"``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

ThresholdSource = Literal["model", "fitted"]
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
