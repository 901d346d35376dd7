"""Measuring a calibration on a labelled dataset: fit on one split, ECE on another.

Raw logits differ per model, so ``min_probability=0.2`` means different things for
different models until their logits are mapped to probabilities that match observed
relevance rates. :func:`calibrate` reranks a dataset, fits on one split (with
``crossrank.calibration.fit_calibration``, the one fitting code), measures the expected
calibration error (ECE) on another and suggests a threshold; save the result beside the
model and the scorer applies it by itself.

Example:
    ```python
    fit_logits, fit_labels = labelled_pairs(train_run.logits, train_qrels)
    eval_logits, eval_labels = labelled_pairs(test_run.logits, test_qrels)
    report = calibrate(fit_logits, fit_labels, eval_logits, eval_labels)
    report.calibration.save("path/to/model")
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from crossrank.calibration import Calibration, Method, fit_calibration, sigmoids
from crossrank.data import Qrels


def labelled_pairs(logits: Mapping[str, Mapping[str, float]], qrels: Qrels) -> tuple[np.ndarray, np.ndarray]:
    """Flatten reranked candidates into (logit, label) arrays; label 1 when judged relevant.

    Only judged queries are used; their unjudged candidates count as not relevant.

    Example:
        ```python
        labelled_pairs({"q": {"a": 2.0, "b": -1.0}}, {"q": {"a": 1}})
        # -> (array([ 2., -1.]), array([1, 0]))
        ```
    """
    values: list[float] = []
    labels: list[int] = []
    for query_id in sorted(logits):
        if query_id not in qrels:
            continue
        for doc_id in sorted(logits[query_id]):
            values.append(float(logits[query_id][doc_id]))
            labels.append(int(qrels[query_id].get(doc_id, 0) > 0))
    return np.asarray(values, dtype=np.float64), np.asarray(labels, dtype=np.int64)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width bins: the mean |accuracy - confidence| weighted by bin size.

    Hand-written because it is a few lines and the libraries that have it
    (torchmetrics, netcal) are not otherwise needed.

    Example:
        ```python
        round(expected_calibration_error(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 1, 0, 0])), 3)
        # -> 0.1
        ```
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if probabilities.shape != labels.shape or probabilities.size == 0:
        raise ValueError("probabilities and labels must be non-empty arrays of the same length")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(labels[mask].mean() - probabilities[mask].mean())
    return float(error)


def threshold_for_precision(probabilities: np.ndarray, labels: np.ndarray, target: float) -> float | None:
    """The lowest probability threshold whose pairs above it reach ``target`` precision.

    Uses scikit-learn's ``precision_recall_curve``; ``None`` when no threshold reaches it.

    Example:
        ```python
        threshold_for_precision(np.array([0.9, 0.8, 0.4, 0.3]), np.array([1, 1, 0, 1]), 0.99)
        # -> 0.8
        ```
    """
    from sklearn.metrics import precision_recall_curve

    if not 0.0 < target <= 1.0:
        raise ValueError(f"target precision must be in (0, 1], got {target}")
    precision, _, thresholds = precision_recall_curve(labels, probabilities)
    reaching = [float(t) for p, t in zip(precision[:-1], thresholds) if p >= target]
    return min(reaching) if reaching else None


@dataclass(frozen=True)
class CalibrationReport:
    """A fitted calibration and how much it helped on held-out pairs.

    Attributes:
        calibration: The fitted mapping.
        fit_pairs / fit_positives: Pairs (and relevant pairs) it was fitted on.
        eval_pairs / eval_positives: Held-out pairs it was measured on.
        ece_before: ECE of the plain sigmoid of the logits on the held-out pairs.
        ece_after: ECE of the calibrated probabilities on the same pairs.
        target_precision: Precision asked for.
        suggested_threshold: Lowest calibrated threshold reaching it on the held-out pairs.
    """

    calibration: Calibration
    fit_pairs: int
    fit_positives: int
    eval_pairs: int
    eval_positives: int
    ece_before: float
    ece_after: float
    target_precision: float
    suggested_threshold: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["calibration"] = asdict(self.calibration)
        return data


def calibrate(
    fit_logits: np.ndarray,
    fit_labels: np.ndarray,
    eval_logits: np.ndarray,
    eval_labels: np.ndarray,
    method: Method = "platt",
    target_precision: float = 0.8,
) -> CalibrationReport:
    """Fit on one set of labelled pairs, report ECE before/after and a threshold on another.

    Example:
        ```python
        rng = np.random.default_rng(0)
        labels = rng.integers(0, 2, 400); logits = 6 * (labels - 0.5) + rng.normal(0, 2, 400)
        report = calibrate(logits[:200], labels[:200], logits[200:], labels[200:])
        report.ece_after < report.ece_before
        # -> True
        ```
    """
    calibration = fit_calibration(fit_logits, fit_labels, method)
    before = sigmoids(eval_logits)
    after = sigmoids(calibration.a * np.asarray(eval_logits, dtype=np.float64) + calibration.b)
    threshold = threshold_for_precision(after, eval_labels, target_precision)
    # The recommended threshold travels with the mapping it was measured under.
    calibration = replace(
        calibration, threshold=threshold, precision=None if threshold is None else float(target_precision)
    )
    return CalibrationReport(
        calibration=calibration,
        fit_pairs=len(fit_labels),
        fit_positives=int(np.sum(fit_labels)),
        eval_pairs=len(eval_labels),
        eval_positives=int(np.sum(eval_labels)),
        ece_before=expected_calibration_error(before, eval_labels),
        ece_after=expected_calibration_error(after, eval_labels),
        target_precision=target_precision,
        suggested_threshold=threshold,
    )
