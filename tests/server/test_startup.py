"""Start-up of ``crossrank serve``: the port is bound before anything heavy, a busy port is one
clear line, and the app imports without the model stack (so /healthz can answer while it loads).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from server_helpers import serve_command

from crossrank.server.listen import CannotListenError, listening_socket

HEAVY = ("torch", "transformers", "sentence_transformers", "onnxruntime")


def test_a_busy_port_is_one_clear_line_and_exit_status_1(tiny_model_dir: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            serve_command(tiny_model_dir, port),
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, output
    expected = (
        f"crossrank serve: cannot listen on 127.0.0.1:{port}: the address is already in use "
        "(another process listens there); stop it or choose another --port (CROSSRANK_SERVER_PORT)"
    )
    assert output.splitlines() == [expected]


def test_listening_socket_names_the_problem() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        try:
            listening_socket("127.0.0.1", port)
        except CannotListenError as exc:
            assert str(exc).startswith(f"cannot listen on 127.0.0.1:{port}: the address is already in use")
        else:
            raise AssertionError("a busy port was bound")


def test_the_server_imports_without_the_model_stack() -> None:
    # What `crossrank serve` imports before it answers /healthz; the model stack is imported
    # by the loading thread, so the event loop is serving while it loads.
    code = (
        "import sys, crossrank.server.cli, crossrank.server.run, crossrank.server.app;"
        "from crossrank.server import create_app, ServerSettings;"
        f"print(__import__('json').dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
