"""Fusion with the first stage: combine the cross-encoder's score with the retriever's.

Out of domain, a cross-encoder alone can rank worse than the retriever that produced
its candidates; fusing the two is the standard remedy. ``Fusion`` is the setting a
``RelevancePolicy`` carries; ``fuse`` computes the fused values. Fusion changes the
order only: the relevance verdict and the thresholds keep using the calibrated
probability.

Two methods:

* ``"score"``: per-query z-score normalisation of both scores, then
  ``weight * z(cross-encoder logit) + (1 - weight) * z(first-stage score)``. Needs the
  retriever's scores. When none are given, ``fuse`` falls back to ``"rank"`` (so a
  policy with score fusion still works behind a retriever that reports no score).
* ``"rank"``: weighted reciprocal rank fusion,
  ``weight / (k + cross-encoder rank) + (1 - weight) / (k + retrieval rank)``, where
  the retrieval rank is the input order (1-based). Needs no first-stage score.

Example:
    ```python
    from crossrank.fusion import Fusion, fuse
    [round(v, 3) for v in fuse(Fusion("score", weight=0.5), [2.0, 1.0, 0.0], [0.1, 0.9, 0.5])]
    # -> [0.0, 0.612, -0.612]
    ```
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

FusionMethod = Literal["score", "rank"]
METHODS: tuple[str, ...] = ("score", "rank")
DEFAULT_WEIGHT = 0.7  # chosen on validation: models/crossrank-default-model/evaluate_fusion.py
DEFAULT_K = 60


@dataclass(frozen=True)
class Fusion:
    """How to fuse the cross-encoder's score with the first stage's.

    Args:
        method: ``"score"`` (z-scores of both scores; falls back to ``"rank"`` when no
            first-stage scores are given) or ``"rank"`` (weighted reciprocal rank
            fusion over the retrieval order).
        weight: The cross-encoder's share, in [0, 1]; ``1.0`` is the cross-encoder
            alone, ``0.0`` the first stage alone.
        k: The reciprocal rank fusion constant (``"rank"`` only), a number > 0.

    Raises:
        ValueError: On an unknown method, a weight outside [0, 1] or ``k <= 0``.

    Example:
        ```python
        Fusion("rank", weight=0.7).to_dict()
        # -> {'method': 'rank', 'weight': 0.7, 'k': 60}
        ```
    """

    method: FusionMethod = "score"
    weight: float = DEFAULT_WEIGHT
    k: int = DEFAULT_K

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be 'score' or 'rank', got {self.method!r}")
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.0 <= float(w) <= 1.0:
            raise ValueError(
                f"weight must be a number in [0, 1] (the cross-encoder's share; 1.0 = no fusion), got {w!r}"
            )
        k = self.k
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k) or k <= 0:
            raise ValueError(f"k must be a number > 0 (reciprocal rank fusion uses 60 by default), got {k!r}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return {"method": self.method, "weight": float(self.weight), "k": self.k}


def _check_first_stage(first_stage_scores: Sequence[float], n: int) -> list[float]:
    if isinstance(first_stage_scores, (str, bytes)) or not isinstance(first_stage_scores, Sequence):
        kind = type(first_stage_scores).__name__
        raise TypeError(f"first_stage_scores must be a list of numbers, got {kind}")
    if len(first_stage_scores) != n:
        got = len(first_stage_scores)
        raise ValueError(f"got {n} scores but {got} first_stage_scores; give one per text")
    out: list[float] = []
    for position, value in enumerate(first_stage_scores):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            raise ValueError(
                f"first_stage_scores[{position}] must be a finite number, got {value!r}; "
                "pass first_stage_scores=None to fuse by retrieval rank instead"
            )
        out.append(float(value))
    return out


def _zscores(values: Sequence[float]) -> list[float]:
    n = len(values)
    if n == 0:
        return []
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    if std == 0.0:
        return [0.0] * n
    return [(v - mean) / std for v in values]


def _ranks(values: Sequence[float]) -> list[int]:
    """1-based rank of each value, highest first, ties by position."""
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))
    ranks = [0] * len(values)
    for rank, i in enumerate(order, start=1):
        ranks[i] = rank
    return ranks


def fuse(
    fusion: Fusion, scores: Sequence[float], first_stage_scores: Sequence[float] | None = None
) -> list[float]:
    """Fused values, one per score, in input order (higher is better); plain floats.

    Args:
        fusion: The method and weight.
        scores: The cross-encoder's logits, in retrieval order.
        first_stage_scores: The retriever's scores, same order, or ``None`` when the
            retriever reports none (score fusion then falls back to rank fusion).

    Raises:
        ValueError: When ``first_stage_scores`` has another length than ``scores`` or
            holds a NaN, an infinity or a non-number (the message names the position).

    Example:
        ```python
        [round(v, 4) for v in fuse(Fusion("rank", weight=0.5, k=1), [0.0, 3.0])]
        # -> [0.4167, 0.4167]
        ```
    """
    ce = [float(s) for s in scores]
    w = float(fusion.weight)
    if fusion.method == "score" and first_stage_scores is not None:
        first = _check_first_stage(first_stage_scores, len(ce))
        return [w * a + (1.0 - w) * b for a, b in zip(_zscores(ce), _zscores(first))]
    if first_stage_scores is not None:
        # Rank fusion ignores the scores, but bad input is still an error.
        _check_first_stage(first_stage_scores, len(ce))
    k = float(fusion.k)
    return [w / (k + r) + (1.0 - w) / (k + i + 1) for i, r in enumerate(_ranks(ce))]
