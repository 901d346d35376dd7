"""Checks of what callers pass in: a query, a list of documents. No model, no heavy import.

Kept apart from the scorer so that a command can refuse an empty question before it
imports (let alone loads) a model: ``crossrank ask ""`` answers in a fraction of a second.

Example:
    ```python
    check_query("What do pandas eat?")
    # -> 'What do pandas eat?'
    check_texts(["a", ""])
    # -> ['a', '']
    ```
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["check_query", "check_texts"]


def check_query(query: object, where: str = "query") -> str:
    """Validate a query: a non-empty string.

    Example:
        ```python
        check_query("ok")
        # -> 'ok'
        ```
    """
    if not isinstance(query, str):
        raise TypeError(f"{where} must be a string, got {type(query).__name__}")
    if not query.strip():
        raise ValueError(f"{where} is empty; a query needs some text to rank documents against")
    return query


def check_texts(texts: object, where: str = "texts") -> list[str]:
    """Validate documents: a sequence of strings (empty strings are allowed and scored).

    Example:
        ```python
        check_texts(["a", ""])
        # -> ['a', '']
        ```
    """
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise TypeError(f"{where} must be a list of strings, got {type(texts).__name__}")
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{where}[{position}] must be a string, got {type(text).__name__}: {text!r:.60}")
    return list(texts)
