"""One small request at a time: the service's own overhead per request, for two source trees.

Starts ``python -m crossrank.server`` from a source tree (``--tree``; a ``git worktree`` of
an older commit for the "before" column) with the onnx backend and the score cache off,
waits for ``/readyz``, then sends ``--requests`` sequential ``/v1/rerank`` requests of one
short, distinct document and prints the median and mean round trip (and the same for
``/healthz``, which touches no model). The model's own time for one short pair is a few
milliseconds, so differences between trees are the serving code's.

Example:
    $ git worktree add /tmp/before a43b246
    $ python bench/request_overhead.py --tree . --label after
    $ python bench/request_overhead.py --tree /tmp/before --label before
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--label", default="after")
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(args.tree / "src"),
        "CROSSRANK_SERVER_HOST": "127.0.0.1",
        "CROSSRANK_SERVER_PORT": str(port),
        "CROSSRANK_SERVER_BACKEND": "onnx",
        "CROSSRANK_SERVER_LOG_LEVEL": "warning",
        "CROSSRANK_SERVER_CACHE_SIZE": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "crossrank.server"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(20):  # warm the connection and the model
                client.post("/v1/rerank", json={"query": "q", "documents": [f"warm-up {i}"]})
            for path in ("/healthz", "/v1/rerank"):
                times = []
                for i in range(args.requests):
                    started = time.perf_counter()
                    if path == "/healthz":
                        reply = client.get(path)
                    else:
                        body = {"query": "what is it", "documents": [f"document number {i} ({args.label})"]}
                        reply = client.post(path, json=body)
                    times.append(time.perf_counter() - started)
                    reply.raise_for_status()
                print(
                    f"{args.label} {path}: median {statistics.median(times) * 1000:.2f} ms, "
                    f"mean {statistics.mean(times) * 1000:.2f} ms over {args.requests}"
                )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
