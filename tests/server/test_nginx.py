"""deploy/scale/nginx.conf with a real nginx on loopback: a POST answered 503 or 429 is retried.

The scale profile puts nginx in front of the replicas; a replica that is shutting down
answers 503, an overloaded one 429, and nginx must try another one, for POSTs too
(every rerank call is one). The test runs the repository's nginx.conf, with only its upstream
addresses, listen address and file paths changed, in front of two tiny local HTTP
servers: one always refusing (503 or 429), one healthy. Skipped where nginx is not installed
(Debian: ``apt-get install nginx``; .ci/run installs it when it can).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from server_helpers import free_port

CONF = Path(__file__).resolve().parents[2] / "deploy" / "scale" / "nginx.conf"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).is_file()), None)

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


class _Upstream(ThreadingHTTPServer):
    """A local HTTP server answering every POST with ``status``; it records the bodies it got."""

    daemon_threads = True

    def __init__(self, status: int) -> None:
        self.status = status
        self.bodies: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server: _Upstream = self.server  # type: ignore[assignment]
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                server.bodies.append(body)
                answer = json.dumps({"served_by": server.status}).encode()
                self.send_response(server.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


@contextmanager
def _upstream(status: int) -> Iterator[_Upstream]:
    server = _Upstream(status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _local_conf(text: str, upstreams: list[str], port: int, root: Path) -> str:
    """The repository's config with loopback addresses and private paths; each change must apply."""
    server_line = re.compile(r"^(\s*)server replica:8080( [^;]*)?;", re.MULTILINE)
    match = server_line.search(text)
    assert match, "nginx.conf no longer has the 'server replica:8080 ...;' line this test rewrites"
    indent, params = match.group(1), match.group(2) or ""
    text = server_line.sub("\n".join(f"{indent}server {u}{params};" for u in upstreams), text, count=1)
    text, listens = re.subn(r"listen 8080;", f"listen 127.0.0.1:{port};", text)
    assert listens == 1, "nginx.conf no longer has the 'listen 8080;' line this test rewrites"
    temp = "\n".join(
        f"    {kind}_temp_path {root / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text, https = re.subn(r"^http \{", f"http {{\n    access_log off;\n{temp}", text, flags=re.MULTILINE)
    assert https == 1
    # In the foreground, one process as the current user, files under root.
    return (
        f"daemon off;\nmaster_process off;\npid {root / 'nginx.pid'};\nerror_log {root / 'error.log'} warn;\n"
        + text
    )


@pytest.mark.parametrize("refusal", [503, 429])  # shutting down / timed out; overloaded
def test_a_refused_post_is_retried_on_the_other_replica(tmp_path: Path, refusal: int) -> None:
    port = free_port()
    with _upstream(refusal) as failing, _upstream(200) as healthy:
        conf = tmp_path / "nginx.conf"
        conf.write_text(_local_conf(CONF.read_text(), [failing.address, healthy.address], port, tmp_path))
        process = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, (
                    process.stdout.read().decode(),
                    (tmp_path / "error.log").read_text(),
                )
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    assert time.monotonic() < deadline, "nginx did not start listening"
                    time.sleep(0.05)
            bodies = [json.dumps({"query": f"question {n}", "texts": ["a", "b"]}).encode() for n in range(6)]
            responses = [
                httpx.post(
                    f"http://127.0.0.1:{port}/v1/rerank",
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=30,
                )
                for body in bodies
            ]
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert all(r.json() == {"served_by": 200} for r in responses)
    assert failing.bodies, "no POST reached the failing upstream, so no retry was tested"
    assert healthy.bodies == bodies  # every request, retried ones included, arrived whole
