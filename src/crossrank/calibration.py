"""Mapping a model's raw logits to calibrated probabilities.

A calibration lives beside a model as ``crossrank_calibration.json`` and the scorer
applies it automatically, so ``min_probability=0.3`` means the same thing for every
model that has one.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

CALIBRATION_FILE = "crossrank_calibration.json"


def sigmoid(x: float) -> float:
    """A numerically safe logistic function.

    Example:
        >>> sigmoid(0.0)
        0.5
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def logit_of(probability: float, eps: float = 1e-7) -> float:
    """The log-odds of a probability, clipped away from 0 and 1.

    Example:
        >>> round(logit_of(0.5), 6)
        0.0
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

    Example:
        >>> round(Calibration("temperature", a=0.5, b=0.0).probability(2.0), 4)
        0.7311
    """

    method: Literal["platt", "temperature"] = "platt"
    a: float = 1.0
    b: float = 0.0

    def __post_init__(self) -> None:
        if not self.a > 0:
            raise ValueError(f"calibration slope a must be > 0 to keep the ranking, got {self.a}")

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
            return cls(method=data.get("method", "platt"), a=float(data["a"]), b=float(data["b"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a valid crossrank calibration ({exc})") from exc
