"""Micro-benchmark: CrossEncoderScorer.score vs sentence_transformers.CrossEncoder.predict on the same pairs.

Both run the same model weights on the same (query, passage) pairs, interleaved
round by round so machine noise hits both alike; the ratio is what to read.

    python bench/scorer_vs_predict.py --model PATH --rounds 5

Passages come from ../shared/data/scifact (real abstracts) when present, otherwise
from a small built-in set.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"


def load_pairs(n_queries: int, per_query: int) -> list[tuple[str, list[str]]]:
    """Real SciFact queries, each with ``per_query`` real abstracts (its own first)."""
    corpus_file = DATA / "corpus.jsonl"
    if not corpus_file.exists():
        corpus_file = DATA / "corpus.jsonl.gz"
    opener = gzip.open if corpus_file.suffix == ".gz" else open
    with opener(corpus_file, "rt", encoding="utf-8") as f:
        corpus = [json.loads(line) for _, line in zip(range(2000), f)]
    with open(DATA / "queries.jsonl", encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for _, line in zip(range(n_queries), f)]
    texts = [(d.get("title", "") + " " + d["text"]).strip() for d in corpus]
    return [(q, texts[i * per_query : (i + 1) * per_query]) for i, q in enumerate(queries)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model path or name (default: crossrank's default model)")
    parser.add_argument("--queries", type=int, default=8)
    parser.add_argument("--per-query", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args()

    import torch
    from sentence_transformers import CrossEncoder

    from crossrank import CrossEncoderScorer

    groups = load_pairs(args.queries, args.per_query)
    pairs = [(q, t) for q, texts in groups for t in texts]
    scorer = CrossEncoderScorer(args.model, device="cpu", max_length=args.max_length)
    baseline = CrossEncoder(scorer.backend.model_path, device="cpu", max_length=args.max_length)

    # Warm up both (first calls allocate).
    baseline.predict(pairs[:8])
    scorer.score(groups[0][0], groups[0][1][:8])

    times: dict[str, list[float]] = {"baseline": [], "crossrank": []}
    for _ in range(args.rounds):
        start = time.perf_counter()
        baseline.predict(pairs)  # sentence-transformers defaults (batch_size=32)
        times["baseline"].append(time.perf_counter() - start)
        start = time.perf_counter()
        scorer.score_many(groups)
        times["crossrank"].append(time.perf_counter() - start)

    n = len(pairs)
    base = statistics.median(times["baseline"])
    ours = statistics.median(times["crossrank"])
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"pairs: {n} ({args.queries} queries x {args.per_query} passages), max_length {args.max_length}")
    print("| engine | median s | pairs/s |")
    print("|---|---|---|")
    print(f"| CrossEncoder.predict (defaults) | {base:.2f} | {n / base:.1f} |")
    print(f"| CrossEncoderScorer.score_many | {ours:.2f} | {n / ours:.1f} |")
    print(f"throughput ratio crossrank / baseline: {base / ours:.2f}x")


if __name__ == "__main__":
    main()
