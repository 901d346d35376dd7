"""The listening socket of ``crossrank serve``, opened before anything heavy is imported or loaded.

Binding first means a busy port is reported at once, in one line, instead of after
the model has loaded (uvicorn binds only after the app's start-up, and then waits for
the loading thread before it can exit). Listening first means ``/healthz`` clients
are queued by the kernel from the first second instead of being refused.

Example:
    ```python
    sock = listening_socket("127.0.0.1", 0)
    sock.getsockname()[1] > 0
    # -> True
    sock.close()
    ```
"""

from __future__ import annotations

import errno
import socket

# The same backlog uvicorn uses.
BACKLOG = 2048

_WHY = {
    errno.EADDRINUSE: "the address is already in use (another process listens there); "
    "stop it or choose another --port (CROSSRANK_SERVER_PORT)",
    errno.EACCES: "permission denied (ports below 1024 need privileges); choose another --port (CROSSRANK_SERVER_PORT)",
    errno.EADDRNOTAVAIL: "this machine has no such address; choose another --host (CROSSRANK_SERVER_HOST)",
}


class CannotListenError(OSError):
    """The host and port cannot be bound; the message says why and what to change."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening, ready for ``uvicorn.Server.run(sockets=...)``.

    Raises:
        CannotListenError: The port is busy, privileged, or the host is not this machine's.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a restart may bind while the last run's connections are in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        why = _WHY.get(exc.errno or 0, exc.strerror or str(exc))
        where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        error = CannotListenError(f"cannot listen on {where}: {why}")
        error.errno = exc.errno
        raise error from None
    return sock
