"""Run the service under uvicorn, with graceful shutdown.

On SIGTERM or Ctrl-C uvicorn stops accepting connections, waits up to
``graceful_shutdown_s`` for in-flight requests, then the app drains its batch queue
and stops.

Example:
    >>> from crossrank.server import ServerSettings
    >>> serve(ServerSettings(model="/models/my-reranker", port=8080))  # doctest: +SKIP
"""

from __future__ import annotations

import math

import uvicorn
from fastapi import FastAPI

from crossrank.server.app import create_app
from crossrank.server.settings import ServerSettings


def uvicorn_config(settings: ServerSettings, app: FastAPI | None = None) -> uvicorn.Config:
    """The uvicorn configuration for ``settings``: one process, so one model and shared batches.

    Example:
        >>> uvicorn_config(ServerSettings(port=9000)).port
        9000
    """
    return uvicorn.Config(
        app or create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=math.ceil(settings.graceful_shutdown_s),
        # Load balancers reuse keep-alive connections; uvicorn's default 5 s is short behind one.
        timeout_keep_alive=30,
        access_log=settings.log_level == "debug",
    )


def serve(settings: ServerSettings | None = None) -> None:
    """Serve until SIGTERM / Ctrl-C; returns after a graceful shutdown."""
    settings = settings or ServerSettings()
    uvicorn.Server(uvicorn_config(settings)).run()
