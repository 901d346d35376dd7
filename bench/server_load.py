"""``crossrank serve`` under overload: 8, 64 and 256 concurrent clients, and small requests beside a big one.

Each scenario runs a fresh server process (``python -m crossrank.server``) from a source
tree (``--tree``, default this checkout; pass a ``git worktree`` of an older commit for
the "before" column) with the model given by ``--model`` and the onnx backend pinned, so
that two trees differ only in their serving code. Clients are closed-loop: each sends one
request (a HotpotQA question and its 10 candidates, made distinct so nothing is cached),
waits for the answer, and sends the next, for ``--seconds``. A 429 is retried after its
``Retry-After``, as the Cohere SDK and LangChain's retry wrappers do; a 503 is retried at
once. Reported per scenario: requests/s answered 200, p50/p95/p99 latency of the 200s,
answers by status, and documents scored by the model (``crossrank_documents_scored_total``)
against documents delivered in 200 answers; work scored for nobody is the difference.

The ``big`` scenario sends one 1,000-document request at a time from one client while 8
clients send the small requests, and reports the small requests' latency and the big
ones' outcome. It runs with ``--big-timeout-s`` (300 s) so that the big request is served
beside the small ones instead of refused.

Data: ../shared/data/hotpotqa-dev-distractor-first103 (the development workspace).

Example:
    $ python bench/server_load.py --label after --clients 8 64 256 --seconds 60 --big
    $ git worktree add /tmp/before 3d4c46a^
    $ python bench/server_load.py --tree /tmp/before --label before --clients 8 64 256 --seconds 60 --big
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "hotpotqa-dev-distractor-first103"
from server_throughput import load_groups  # noqa: E402  (one home for the data reader; bench/ is on sys.path as the script's folder)


@dataclass
class Outcome:
    """What one scenario measured, client side and from the server's metrics."""

    label: str
    scenario: str
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # of 200 answers
    delivered: int = 0  # documents in 200 answers
    scored: int = 0  # documents the model scored in the scenario
    big: list[tuple[int, float]] = field(default_factory=list)  # (status, seconds) of the big requests

    def row(self) -> dict[str, object]:
        def quantile(q: float) -> float | None:
            if len(self.latencies) < 2:
                return self.latencies[0] if self.latencies else None
            return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q * 100) - 1]

        return {
            "label": self.label,
            "scenario": self.scenario,
            "ok_per_s": round(self.statuses[200] / self.seconds, 2),
            "p50_s": quantile(0.50),
            "p95_s": quantile(0.95),
            "p99_s": quantile(0.99),
            "statuses": dict(sorted(self.statuses.items())),
            "scored": self.scored,
            "delivered": self.delivered,
            "big": self.big,
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(tree: Path, model: str, port: int, timeout_s: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(tree / "src"),
        "CROSSRANK_SERVER_MODEL": model,
        "CROSSRANK_SERVER_BACKEND": "onnx",
        "CROSSRANK_SERVER_PORT": str(port),
        "CROSSRANK_SERVER_LOG_LEVEL": "warning",
        "CROSSRANK_SERVER_REQUEST_TIMEOUT_S": str(timeout_s),
        "HF_HUB_OFFLINE": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "crossrank.server"],
        env=env,
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server from {tree} exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"the server from {tree} was not ready after 600 s")


def documents_scored(url: str) -> int:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    match = re.search(r"^crossrank_documents_scored_total (\S+)$", text, re.MULTILINE)
    return int(float(match.group(1))) if match else 0


async def drive(
    url: str,
    groups: list[tuple[str, list[str]]],
    clients: int,
    seconds: float,
    outcome: Outcome,
    big_documents: int = 0,
) -> None:
    stop_at = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def one(http: httpx.AsyncClient, query: str, texts: list[str]) -> tuple[int, float, str | None]:
        sent = time.perf_counter()
        try:
            response = await http.post("/v1/rerank", json={"query": query, "documents": texts})
        except httpx.HTTPError:
            return 0, time.perf_counter() - sent, None  # 0: no HTTP answer (reset, client timeout)
        return response.status_code, time.perf_counter() - sent, response.headers.get("retry-after")

    async def small_client(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop_at:
            n = next(counter)
            query, texts = groups[n % len(groups)]
            status, took, retry_after = await one(http, query, [f"{n}. {t}" for t in texts])
            outcome.statuses[status] += 1
            if status == 200:
                outcome.latencies.append(took)
                outcome.delivered += len(texts)
            elif status == 429:
                await asyncio.sleep(float(retry_after or 1))

    async def big_client(http: httpx.AsyncClient) -> None:
        texts = [t for _, group in groups for t in group]
        while time.perf_counter() < stop_at:
            n = next(counter)
            batch = [f"{n}.{i}. {texts[i % len(texts)]}" for i in range(big_documents)]
            status, took, retry_after = await one(http, groups[n % len(groups)][0], batch)
            outcome.big.append((status, round(took, 2)))
            if status == 200:
                outcome.delivered += len(batch)
            elif status == 413:
                return  # too big for this server's timeout: sending it again cannot help
            elif status == 429:
                await asyncio.sleep(float(retry_after or 1))

    total = clients + (1 if big_documents else 0)
    limits = httpx.Limits(max_connections=total, max_keepalive_connections=total)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
        tasks = [small_client(http) for _ in range(clients)]
        if big_documents:
            tasks.append(big_client(http))
        await asyncio.gather(*tasks)


def run_scenario(args: argparse.Namespace, groups, scenario: str, clients: int, big: int) -> Outcome:
    port = free_port()
    process = start_server(args.tree, args.model, port, args.big_timeout_s if big else args.request_timeout_s)
    url = f"http://127.0.0.1:{port}"
    try:
        outcome = Outcome(args.label, scenario, args.seconds)
        before = documents_scored(url)
        asyncio.run(drive(url, groups, clients, args.seconds, outcome, big))
        # Work still queued or on the model when the clients stopped counts too: wait for it.
        last, settled = documents_scored(url), 0
        while settled < 3:
            time.sleep(1)
            now = documents_scored(url)
            settled = settled + 1 if now == last else 0
            last = now
        outcome.scored = last - before
        return outcome
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree whose src/ the server runs")
    parser.add_argument("--label", default="after")
    parser.add_argument(
        "--model",
        default=str(ROOT / "models" / "crossrank-default-model" / "crossrank_default_model" / "model"),
    )
    parser.add_argument("--clients", type=int, nargs="*", default=[8, 64, 256])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--request-timeout-s", type=float, default=30.0, help="the server's default")
    parser.add_argument("--big", action="store_true", help="also run 1 x 1,000-document + 8 small clients")
    parser.add_argument(
        "--big-timeout-s",
        type=float,
        default=300.0,
        help="the big scenario's server timeout: on 2 cores a 1,000-document request sharing the model "
        "with 8 clients takes about a minute, so at the default 30 s it is refused (or times out) "
        "and never runs beside the small ones",
    )
    parser.add_argument("--out", type=Path, help="append one JSON line per scenario here")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} not found: this benchmark reads the development workspace's data")
    groups = load_groups(DATA, 10**6)
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"tree {args.tree}, timeout {args.request_timeout_s:g} s, {args.seconds:g} s per scenario"
    )
    scenarios = [(f"{n} clients", n, 0) for n in args.clients]
    if args.big:
        scenarios.append((f"1 x 1,000 docs + 8 clients, timeout {args.big_timeout_s:g} s", 8, 1000))
    for name, clients, big in scenarios:
        row = run_scenario(args, groups, name, clients, big).row()
        print(json.dumps(row), flush=True)
        if args.out:
            with args.out.open("a") as out:
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
