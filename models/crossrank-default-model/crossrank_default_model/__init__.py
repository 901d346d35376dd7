"""The default crossrank cross-encoder, bundled as package data so it loads with no network.

Example:
    ```python
    import crossrank_default_model
    from crossrank import CrossEncoderScorer

    scorer = CrossEncoderScorer(crossrank_default_model.get_model_path())  # what CrossEncoderScorer() loads
    ```
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["get_model_path"]


def get_model_path() -> str:
    """Return the directory of the bundled model (a late-interaction model crossrank's own loader reads).

    Example:
        ```python
        import os
        os.path.isdir(get_model_path())
        # -> True
        ```
    """
    return str(Path(__file__).resolve().parent / "model")
