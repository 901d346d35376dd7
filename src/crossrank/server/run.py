"""Run the service under uvicorn, with graceful shutdown.

On SIGTERM or Ctrl-C uvicorn stops accepting connections and waits up to
``graceful_shutdown_s`` for in-flight requests. The app is told at once: requests that
finish in time are answered, the rest get a JSON 503 a second before the timeout (never
a cut connection), and the model work left is one batch slice, so the process exits
within about ``graceful_shutdown_s`` plus one slice.

Example:
    ```python
    from crossrank.server import ServerSettings
    serve(ServerSettings(model="/models/my-reranker", port=8080))
    ```
"""

from __future__ import annotations

import math
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from crossrank.server.app import create_app
from crossrank.server.listen import listening_socket
from crossrank.server.logs import log_config, own_the_process
from crossrank.server.settings import ServerSettings


def uvicorn_config(
    settings: ServerSettings, app: FastAPI | None = None, *, whole_process: bool = False
) -> uvicorn.Config:
    """The uvicorn configuration for ``settings``: one process, so one model and shared batches.

    ``whole_process``: this process is only the server, so all of its logging is the
    server's JSON log (see ``crossrank.server.logs.log_config``).

    Example:
        ```python
        uvicorn_config(ServerSettings(port=9000)).port
        # -> 9000
        ```
    """
    return uvicorn.Config(
        app or create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # one JSON line per event, uvicorn's included
        log_config=log_config(settings.log_level, whole_process=whole_process),
        timeout_graceful_shutdown=math.ceil(settings.graceful_shutdown_s),
        # Load balancers reuse keep-alive connections; uvicorn's default 5 s is short behind one.
        timeout_keep_alive=30,
        # Each request is logged once by crossrank's middleware, with its id, status and latency.
        access_log=False,
    )


class NotifyingServer(uvicorn.Server):
    """uvicorn's server that also tells the app when a stop signal arrives (see ``ServiceState.request_shutdown``).

    Example:
        ```python
        app = create_app(settings)
        NotifyingServer(uvicorn_config(settings, app), app.state.crossrank.request_shutdown).run()
        ```
    """

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            self._on_exit()
        super().handle_exit(sig, frame)


def serve(settings: ServerSettings | None = None, sock: socket.socket | None = None) -> None:
    """Serve until SIGTERM / Ctrl-C; returns after a graceful shutdown.

    Args:
        settings: Configuration; ``None`` reads ``CROSSRANK_SERVER_*`` environment variables.
        sock: A socket already listening (``crossrank serve`` opens it first);
            ``None`` binds ``settings.host:settings.port`` now, before the model loads.

    Raises:
        CannotListenError: The port is busy (raised before anything is loaded).
    """
    settings = settings or ServerSettings()
    sock = sock or listening_socket(settings.host, settings.port)
    own_the_process()
    app = create_app(settings)
    NotifyingServer(
        uvicorn_config(settings, app, whole_process=True), app.state.crossrank.request_shutdown
    ).run(sockets=[sock])
