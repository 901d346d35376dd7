"""Deprecated: the RAG app's settings moved to ``crossrank.rag.settings``.

This module only re-exports them, and warns on import; it goes away in the next release.
Their environment variables moved too: ``CROSSRANK_RAG_<FIELD>`` (the old
``CROSSRANK_<FIELD>`` still works for one release, with a warning).

Example:
    ```python
    from crossrank.rag.settings import RagSettings  # instead of crossrank.settings
    ```
"""

from __future__ import annotations

import warnings

from crossrank.rag.settings import (
    DEFAULT_QDRANT_PATH,
    FirstStage,
    GeneratorKind,
    OnWeak,
    RagSettings,
)

__all__ = ["DEFAULT_QDRANT_PATH", "FirstStage", "GeneratorKind", "OnWeak", "RagSettings"]

warnings.warn(
    "crossrank.settings is deprecated and will be removed in the next release; "
    "import RagSettings from crossrank.rag.settings (or crossrank.rag) instead",
    DeprecationWarning,
    stacklevel=2,
)
