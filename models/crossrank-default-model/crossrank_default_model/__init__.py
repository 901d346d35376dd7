"""The default crossrank cross-encoder, bundled as package data so it loads with no network.

Example:
    >>> import crossrank_default_model
    >>> from sentence_transformers import CrossEncoder
    >>> model = CrossEncoder(crossrank_default_model.get_model_path())  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["get_model_path"]


def get_model_path() -> str:
    """Return the directory of the bundled model (loadable by ``sentence_transformers.CrossEncoder``).

    Example:
        >>> import os
        >>> os.path.isdir(get_model_path())
        True
    """
    return str(Path(__file__).resolve().parent / "model")
