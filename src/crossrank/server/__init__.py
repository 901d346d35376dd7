"""The crossrank HTTP service: rerank (Cohere and TEI shapes), answer, health and metrics.

Example:
    ```python
    from crossrank.server import ServerSettings, create_app
    app = create_app(ServerSettings(model="/models/my-reranker", max_batch_size=64))
    ```

Run it with ``crossrank serve --model /models/my-reranker`` (see docs/server.md).

The names below are imported on first use (PEP 562), as in ``crossrank`` itself:
``crossrank serve`` imports this package first and binds its port before FastAPI,
uvicorn and the scoring stack are imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossrank.server.app import app_from_env, create_app
    from crossrank.server.batcher import DynamicBatcher
    from crossrank.server.run import serve
    from crossrank.server.settings import ServerSettings

_EXPORTS: dict[str, str] = {
    "DynamicBatcher": "crossrank.server.batcher",
    "ServerSettings": "crossrank.server.settings",
    "app_from_env": "crossrank.server.app",
    "create_app": "crossrank.server.app",
    "serve": "crossrank.server.run",
}

__all__ = ["DynamicBatcher", "ServerSettings", "app_from_env", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'crossrank.server' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
