"""Batched HTTP throughput of ``crossrank serve`` against the offline scorer on the same pairs.

The baseline is the best the library does offline: one ``CrossEncoderScorer.score_many``
call over every (query, candidates) group, in this process. The server runs as a
separate process (``python -m crossrank.server``) and ``--clients`` concurrent HTTP
clients send one query's candidates per request, so the dynamic batcher has to merge
them to keep up. Both sides alternate ``--repeats`` times (the machine is shared);
the reported numbers are medians. Goal: server >= 90% of offline pairs/s.

Data: HotpotQA dev distractor candidates from ../shared/data (10 candidates per question).

Example:
    $ python bench/server_throughput.py --model models/crossrank-default-model --queries 48 --clients 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hotpotqa-dev-distractor-first103"


def load_groups(folder: Path, limit: int) -> list[tuple[str, list[str]]]:
    queries = {}
    for line in (folder / "queries.jsonl").read_text().splitlines():
        record = json.loads(line)
        queries[record["_id"]] = record["text"]
    corpus = {}
    for line in (folder / "corpus.jsonl").read_text().splitlines():
        record = json.loads(line)
        corpus[record["_id"]] = f"{record.get('title', '')}. {record['text']}".strip(". ")
    candidates: dict[str, list[str]] = {}
    for line in (folder / "candidates.tsv").read_text().splitlines()[1:]:
        query_id, corpus_id, _rank = line.split("\t")
        candidates.setdefault(query_id, []).append(corpus[corpus_id])
    return [(queries[q], texts) for q, texts in list(candidates.items())[:limit]]


def offline_pairs_per_s(scorer, groups) -> float:
    pairs = sum(len(texts) for _, texts in groups)
    started = time.perf_counter()
    scorer.score_many(groups)
    return pairs / (time.perf_counter() - started)


async def server_pairs_per_s(url: str, groups, clients: int) -> tuple[float, float]:
    pairs = sum(len(texts) for _, texts in groups)
    queue: asyncio.Queue[tuple[str, list[str]]] = asyncio.Queue()
    for group in groups:
        queue.put_nowait(group)
    latencies: list[float] = []

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            query, texts = queue.get_nowait()
            sent = time.perf_counter()
            response = await http.post("/rerank", json={"query": query, "texts": texts})
            response.raise_for_status()
            latencies.append(time.perf_counter() - sent)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return pairs / elapsed, statistics.median(latencies)


def start_server(model: str, max_batch_size: int, max_wait_ms: float) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # A benchmark measures throughput, not the overload guard: no request should time out.
    env = {
        **os.environ,
        "CROSSRANK_SERVER_LOG_LEVEL": "warning",
        "HF_HUB_OFFLINE": "1",
        "CROSSRANK_SERVER_REQUEST_TIMEOUT_S": "600",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crossrank.server",
            "--model",
            model,
            "--device",
            "cpu",
            "--port",
            str(port),
            "--max-batch-size",
            str(max_batch_size),
            "--max-wait-ms",
            str(max_wait_ms),
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("server exited during start-up")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="reranker directory")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--queries", type=int, default=48)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-batch-size", type=int, default=128)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} not found (the benchmark reads ../shared/data)")

    from crossrank import CrossEncoderScorer

    groups = load_groups(args.data, args.queries)
    pairs = sum(len(t) for _, t in groups)
    scorer = CrossEncoderScorer(args.model, device="cpu")
    process, url = start_server(args.model, args.max_batch_size, args.max_wait_ms)
    try:
        # Warm-up: first calls allocate and tune kernels on both sides.
        scorer.score_many(groups[:4])
        asyncio.run(server_pairs_per_s(url, groups[:4], 4))
        offline, served, latency = [], [], []
        for repeat in range(args.repeats):
            offline.append(offline_pairs_per_s(scorer, groups))
            rate, median_latency = asyncio.run(server_pairs_per_s(url, groups, args.clients))
            served.append(rate)
            latency.append(median_latency)
            print(
                f"run {repeat + 1}: offline {offline[-1]:.1f} pairs/s, server {rate:.1f} pairs/s", flush=True
            )
        batches = httpx.get(f"{url}/metrics").text
    finally:
        process.terminate()
        process.wait(timeout=60)

    def sample(name: str) -> float:
        return sum(float(line.split()[-1]) for line in batches.splitlines() if line.startswith(name + " "))

    n_batches = sample("crossrank_batch_requests_count")
    mean_requests = sample("crossrank_batch_requests_sum") / max(n_batches, 1)
    off, srv = statistics.median(offline), statistics.median(served)
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    print(
        f"model: {args.model}; {len(groups)} queries x 10 candidates = {pairs} pairs; "
        f"{args.clients} clients; max_batch_size={args.max_batch_size} max_wait_ms={args.max_wait_ms}"
    )
    print(f"offline score_many:   {off:8.1f} pairs/s  (runs: {', '.join(f'{x:.1f}' for x in offline)})")
    print(f"server /rerank:       {srv:8.1f} pairs/s  (runs: {', '.join(f'{x:.1f}' for x in served)})")
    print(f"server / offline:     {srv / off:8.2f}")
    print(
        f"median request latency: {statistics.median(latency) * 1000:.0f} ms; "
        f"mean requests per model batch: {mean_requests:.1f}"
    )


if __name__ == "__main__":
    main()
