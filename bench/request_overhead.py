"""One small request at a time: the service's own overhead per request, for two source trees.

Starts ``python -m crossrank.server`` from a source tree (``--tree``; a ``git worktree`` of
an older commit for the "before" column) with the onnx backend, as ``server_load.py`` does,
waits for ``/readyz``, then sends ``--requests`` sequential ``/v1/rerank`` requests of one
short, distinct document (never in the score cache) and prints the median and mean round trip (and the same for
``/healthz``, which touches no model). The model's own time for one short pair is a few
milliseconds, so differences between trees are the serving code's.

Example:
    $ git worktree add /tmp/before a43b246
    $ python bench/request_overhead.py --tree . --label after
    $ python bench/request_overhead.py --tree /tmp/before --label before
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx

# One home for starting a server from a tree (bench/ is on sys.path as the script's folder).
from server_load import ROOT, free_port, start_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree whose src/ the server runs")
    parser.add_argument("--label", default="after")
    parser.add_argument(
        "--model",
        default=str(ROOT / "models" / "crossrank-default-model" / "crossrank_default_model" / "model"),
    )
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    port = free_port()
    server = start_server(args.tree, args.model, port, timeout_s=30.0)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for i in range(20):  # warm the connection and the model
                client.post("/v1/rerank", json={"query": "q", "documents": [f"warm-up {i}"]})
            for path in ("/healthz", "/v1/rerank"):
                times = []
                for i in range(args.requests):
                    started = time.perf_counter()
                    if path == "/healthz":
                        reply = client.get(path)
                    else:
                        # A distinct document each time, so the score cache never answers.
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
