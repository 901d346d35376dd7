"""Start and stop real uvicorn servers on 127.0.0.1 for the server tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from crossrank.server import ServerSettings, create_app
from crossrank.server.run import uvicorn_config


@dataclass
class RunningServer:
    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def state(self) -> Any:
        return self.app.state.crossrank

    def metric(self, name: str, **labels: str) -> float:
        """A sample value from /metrics (0.0 when the series does not exist yet)."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total


@contextmanager
def run_server(
    settings: ServerSettings, *, ready_timeout_s: float = 300.0, **app_kwargs: Any
) -> Iterator[RunningServer]:
    """Start a real server, wait until /readyz is 200 (or /healthz when not expecting ready), stop it after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = settings.model_copy(update={"host": "127.0.0.1", "port": port, "log_level": "warning"})
    app = create_app(settings, **app_kwargs)
    server = uvicorn.Server(uvicorn_config(settings, app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    running = RunningServer(url, app, server, thread)
    try:
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()


def free_port() -> int:
    """A port free on 127.0.0.1 a moment ago (for subprocesses, which bind it themselves)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(model_dir: str, port: int) -> list[str]:
    """``python -m crossrank.server`` with ``model_dir`` on the CPU, on 127.0.0.1:``port``."""
    return [
        sys.executable,
        "-m",
        "crossrank.server",
        "--model",
        model_dir,
        "--device",
        "cpu",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def spawn_server(model_dir: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``serve_command`` on a free port with ``env``, its output piped: the process and its URL."""
    port = free_port()
    process = subprocess.Popen(
        serve_command(model_dir, port), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    return process, f"http://127.0.0.1:{port}"


def wait_process_ready(process: subprocess.Popen[bytes], url: str, timeout_s: float = 300.0) -> None:
    """Wait until a spawned server answers /readyz 200; fail with its output if it exits first."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.2)


def wait_ready(url: str, timeout_s: float = 300.0) -> dict[str, Any]:
    # Generous: on a busy shared machine loading even the tiny model has taken over 120 s.
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{url}/readyz", timeout=10)
        body = response.json()
        if response.status_code == 200:
            return body
        time.sleep(0.05)
    raise AssertionError(f"server not ready after {timeout_s} s: {body}")


def updated(settings: Any, **changes: Any) -> Any:
    """A copy of pydantic settings with ``changes`` validated like user input (model_copy skips validation)."""
    return type(settings)(**{**settings.model_dump(), **changes})
