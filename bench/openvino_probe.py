"""Would OpenVINO run the shipped int8 ONNX file faster than ONNX Runtime on this machine?

    .venv/bin/pip install openvino   # not a crossrank dependency: only for this probe
    .venv/bin/python bench/openvino_probe.py [--candidates 50] [--tokens 100] [--repeats 7]

Both runtimes get the same file (the default engine's ``model_int8.onnx``) and the same
padded batches of 8 pairs that ``CrossEncoderScorer`` builds for one query and
``--candidates`` passages of ``--tokens`` tokens (made-up text of real words, so that no
data set is needed); reported: p50 seconds for all batches, and the largest score
difference. OpenVINO would become a second CPU backend only if it measured faster
(issue: fast by default); results in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

# One home for the timing loop; bench/ is on sys.path because python puts the script's folder first.
from default_engine import _p50

from crossrank import CrossEncoderScorer
from crossrank.backends.base import pad_batch

QUERY = "what causes inflammation in the lungs"
WORDS = [
    "the",
    "lung",
    "tissue",
    "reacts",
    "to",
    "smoke",
    "dust",
    "and",
    "infection",
    "with",
    "swelling",
    "cells",
    "immune",
    "response",
    "airway",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import onnxruntime as ort
    import openvino as ov

    scorer = CrossEncoderScorer()  # the default engine: onnx int8 on a CPU
    backend = scorer.backend
    tokenizer = backend.tokenizer  # type: ignore[attr-defined]
    texts = [
        " ".join(WORDS[(i + j) % len(WORDS)] for j in range(args.tokens)) for i in range(args.candidates)
    ]
    batches = []
    for start in range(0, len(texts), 8):
        chunk = texts[start : start + 8]
        encoded = tokenizer([QUERY] * len(chunk), chunk, truncation=True, max_length=scorer.max_length)
        batches.append(pad_batch(encoded["input_ids"], encoded["token_type_ids"], backend.pad_token_id))  # type: ignore[attr-defined]
    path = str(backend.onnx_path)  # type: ignore[attr-defined]
    threads = getattr(backend, "threads", 2)

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run_ort() -> list[np.ndarray]:
        return [session.run(None, {n: b[n] for n in names})[0] for b in batches]

    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(path), "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    )

    def run_ov() -> list[np.ndarray]:
        return [compiled({n: b[n] for n in names})[0] for b in batches]

    ort_scores, ov_scores = run_ort(), run_ov()  # warm-up, and the parity check
    gap = max(float(np.max(np.abs(a - b))) for a, b in zip(ort_scores, ov_scores))
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}")
    print(
        f"file: {path}; {args.candidates} passages x {args.tokens} tokens in batches of 8; p50 of {args.repeats}"
    )
    ort_p50 = _p50(run_ort, args.repeats)
    ov_p50 = _p50(run_ov, args.repeats)
    print(f"onnxruntime {ort.__version__}: p50 {ort_p50:.3f} s")
    print(f"openvino {ov.__version__}: p50 {ov_p50:.3f} s  ({ort_p50 / ov_p50:.2f}x onnxruntime's speed)")
    print(f"largest score difference: {gap:.4f}")


if __name__ == "__main__":
    main()
