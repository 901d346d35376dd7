"""Where the default engine's time goes: 50 candidates of ~100 tokens for one query, auto vs torch.

    .venv/bin/python bench/default_engine.py [--model PATH] [--data ../shared/data/scifact] [--repeats 7]

Real SciFact abstracts cut to exactly ``--tokens`` tokens (the length of a typical RAG chunk),
one query, ``--candidates`` of them per call. Reports p50 seconds of ``CrossEncoderScorer.score``
for the default engine (``backend="auto"``) at several batch sizes and for exact torch fp32, the
share of tokenising and windowing, and ONNX Runtime's per-operator profile of the int8 graph.
Results in docs/benchmarks.md ("Fast by default").
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from crossrank import CrossEncoderScorer
from crossrank.backends.base import pad_batch
from crossrank.windows import encode_windows

QUERY = "what causes inflammation in the lungs"


def _p50(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _passages(data: Path, tokenizer: object, tokens: int, count: int) -> list[str]:
    corpus = data / "corpus.jsonl.gz"
    out: list[str] = []
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        for line in handle:
            ids = tokenizer(json.loads(line)["text"], add_special_tokens=False)["input_ids"]  # type: ignore[operator]
            if len(ids) >= tokens:
                out.append(tokenizer.decode(ids[:tokens]))  # type: ignore[attr-defined]
            if len(out) == count:
                return out
    raise SystemExit(f"{corpus} has fewer than {count} passages of {tokens} tokens")


def _operator_profile(scorer: CrossEncoderScorer, texts: list[str]) -> list[tuple[str, float]]:
    import onnxruntime as ort

    backend = scorer.backend
    options = ort.SessionOptions()
    options.enable_profiling = True
    options.intra_op_num_threads = getattr(backend, "threads", 2)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    with tempfile.TemporaryDirectory() as scratch:
        options.profile_file_prefix = os.path.join(scratch, "ort")
        session = ort.InferenceSession(str(backend.onnx_path), options, providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]
        encoded = backend.tokenizer([QUERY] * 8, texts[:8], truncation=True, max_length=scorer.max_length)
        features = pad_batch(encoded["input_ids"], encoded["token_type_ids"], backend.pad_token_id)  # type: ignore[attr-defined]
        for _ in range(10):
            session.run(None, {i.name: features[i.name] for i in session.get_inputs()})
        events = json.loads(Path(session.end_profiling()).read_text())
    totals: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            totals[event["args"].get("op_name", "?")] += event["dur"]
    whole = sum(totals.values()) or 1
    return [(op, 100.0 * d / whole) for op, d in totals.most_common(8)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/scifact"))
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    auto = CrossEncoderScorer(args.model)
    texts = _passages(args.data, auto.backend.tokenizer, args.tokens, args.candidates)
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}")
    print(f"model: {auto.model_name}; {args.candidates} passages x {args.tokens} tokens; p50 of {args.repeats}")
    auto.score(QUERY, texts)
    default_p50 = _p50(lambda: auto.score(QUERY, texts), args.repeats)
    print(f"auto -> {auto.backend.name}, batch {auto.batch_size}: p50 {default_p50:.3f} s")
    for size in (4, 16, 32):
        other = CrossEncoderScorer(args.model, batch_size=size)
        p50 = _p50(lambda scorer=other: scorer.score(QUERY, texts), args.repeats)
        print(f"  batch {size}: p50 {p50:.3f} s")
    pairs = [(QUERY, t) for t in texts]
    encode = _p50(lambda: encode_windows(auto.backend.tokenizer, pairs, auto.max_length, auto.window_overlap), args.repeats)
    print(f"tokenising + windowing: {encode * 1000:.1f} ms ({100 * encode / default_p50:.1f} % of the call)")
    exact = CrossEncoderScorer(args.model, backend="torch")
    exact.score(QUERY, texts)
    torch_p50 = _p50(lambda: exact.score(QUERY, texts), args.repeats)
    print(f"torch fp32: p50 {torch_p50:.3f} s; auto is {torch_p50 / default_p50:.2f}x faster")
    if auto.backend.name == "onnx":
        print("int8 graph, share of operator time:")
        for op, share in _operator_profile(auto, texts):
            print(f"  {op:28s} {share:5.1f} %")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
