"""Environment helpers shared by the settings tests: a clean CROSSRANK_* slate, and settings built without warnings."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


def without_crossrank_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every CROSSRANK_* variable for this test (restored afterwards), so none leaks in from the shell."""
    for name in list(os.environ):
        if name.startswith("CROSSRANK_"):
            monkeypatch.delenv(name)


def built_quietly(factory: Callable[..., T], **values: Any) -> T:
    """``factory(**values)``, failing the test if it warns (a deprecated variable was read).

    Example:
        settings = built_quietly(RagSettings, top_k=5)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return factory(**values)
