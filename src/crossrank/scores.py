"""The score record every crossrank caller receives."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Score:
    """The relevance of one document to one query.

    Attributes:
        logit: The model's raw relevance logit (log-odds of relevance; for two-label
            models the positive minus the negative logit), aggregated over windows.
        probability: The (calibrated, if a calibration is installed) probability that
            the document is relevant, in [0, 1].
        windows: How many token windows the document was split into to fit the model.
            1 means the whole document fitted; more means it was scored window by
            window and aggregated, never silently truncated.

    Example:
        ```python
        s = Score(logit=2.0, probability=0.88, windows=1)
        s.to_dict()["probability"]
        # -> 0.88
        ```
    """

    logit: float
    probability: float
    windows: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The score as a JSON-ready dict of plain Python numbers."""
        return asdict(self)
