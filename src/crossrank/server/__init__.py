"""The crossrank HTTP service: rerank (Cohere and TEI shapes), answer, health and metrics.

Example:
    >>> from crossrank.server import ServerSettings, create_app
    >>> app = create_app(ServerSettings(model="/models/my-reranker", max_batch_size=64))

Run it with ``crossrank serve --model /models/my-reranker`` (see docs/server.md).
"""

from crossrank.server.app import app_from_env, create_app
from crossrank.server.batcher import DynamicBatcher
from crossrank.server.run import serve
from crossrank.server.settings import ServerSettings

__all__ = ["DynamicBatcher", "ServerSettings", "app_from_env", "create_app", "serve"]
