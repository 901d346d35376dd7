"""Speed benchmarks of the CPU engine (the measurements behind ``crossrank bench``).

    # baseline CrossEncoder.predict vs crossrank (onnx int8), adapters; writes JSON
    python bench/speed.py compare --model DIR --dataset ../shared/data/scifact --queries 20 --candidates 50

    # which batch size the onnx backend should default to (interleaved, same windows)
    python bench/speed.py batch-sizes --model DIR --dataset ../shared/data/scifact --sizes 8 16 32 64

Results and the machine they ran on go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from crossrank.evaluation.speed import compare, load_workload, machine, markdown

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"


def batch_sizes(model: str, dataset: str, sizes: list[int], queries: int, candidates: int, backend: str) -> None:
    """Throughput of ``score_many`` per batch size, round-robin so load noise hits every size alike."""
    from crossrank import CrossEncoderScorer

    workload = load_workload(dataset, queries, candidates)
    scorers = {size: CrossEncoderScorer(model, backend=backend, device="cpu", batch_size=size) for size in sizes}
    scorers[sizes[0]].score_many(workload.groups[:1])  # warm-up
    seconds: dict[int, list[float]] = {size: [] for size in sizes}
    for query, passages in workload.groups:
        for size, scorer in scorers.items():
            started = time.perf_counter()
            scorer.score(query, passages)
            seconds[size].append(time.perf_counter() - started)
    print(json.dumps(machine()))
    print(f"{backend}, {queries} queries x {candidates} candidates from {dataset}")
    print("| batch size | pairs/s | median ms per query |\n| --- | --- | --- |")
    for size in sizes:
        rate = workload.pairs / sum(seconds[size])
        print(f"| {size} | {rate:.1f} | {1000 * statistics.median(seconds[size]):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["compare", "batch-sizes"])
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", default=str(DATA))
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.mode == "batch-sizes":
        batch_sizes(args.model, args.dataset, args.sizes, args.queries, args.candidates, args.backend)
        return
    report = compare(
        args.model, args.dataset, queries=args.queries, candidates=args.candidates, backend=args.backend,
        repeats=args.repeats, progress=lambda name: print(f"measuring {name} ...", flush=True),
    )  # fmt: skip
    print(markdown(report))
    print(json.dumps(report["machine"]))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
