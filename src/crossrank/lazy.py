"""Lazy package exports (PEP 562): a package names its public objects without importing them.

``import crossrank`` and ``import crossrank.rag`` must stay cheap (``crossrank --help``
loads them), while their public names live in modules that import torch, Qdrant or
transformers. A package keeps a name -> module table and delegates its module-level
``__getattr__`` and ``__dir__`` to the functions made here.

Example:
    ```python
    # in a package's __init__.py
    __getattr__, __dir__ = lazy_exports(__name__, {"RagPipeline": "crossrank.rag.pipeline"}, globals())
    ```
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for ``exports`` (public name -> defining module).

    A name is imported on first access and stored in ``namespace`` (the package's
    ``globals()``), so later lookups are plain attributes.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
