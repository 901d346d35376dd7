"""What the LangChain and LlamaIndex adapters share: their scorer and their ``model`` field.

Their policy comes from their fields through ``RelevancePolicy.from_fields``.

Framework-free on purpose (the layer contracts check it), so each adapter module imports
only its own framework and the core.

Example:
    ```python
    scorer = model_or_scorer(None, None)  # the shared default scorer
    ```
"""

from __future__ import annotations

import os
from typing import Any

from crossrank.scorer import CrossEncoderScorer


def model_or_scorer(model: str | None, scorer: CrossEncoderScorer | None) -> CrossEncoderScorer:
    """The scorer an adapter runs: the ready ``scorer``, or the shared one for ``model``.

    Raises:
        ValueError: Both were given.
    """
    if scorer is not None and model is not None:
        raise ValueError("give either model= or scorer=, not both")
    return scorer if scorer is not None else CrossEncoderScorer(model)


def model_path_to_str(value: Any) -> Any:
    """A ``model`` given as a ``Path`` becomes its string; anything else is returned unchanged."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value
