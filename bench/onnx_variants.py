"""Which int8 quantisation the ONNX engine should use: error against fp32 and speed, in one run.

    .venv/bin/python bench/onnx_variants.py [--model PATH] [--data ../shared/data/scifact]

Exports the model once to fp32 ONNX (crossrank's own exporter), quantises it four ways with
ONNX Runtime's ``quantize_dynamic`` (MatMul only, as the engine does), and scores 4 queries x 8
real SciFact abstracts (128-token windows) with each: mean and max logit error against the fp32
export, correlation, whether each query's top passage is unchanged, and p50 seconds for the 32
pairs. The result decided ``_EXPORT_RECIPE`` in ``crossrank/backends/onnx.py``; the numbers are in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoTokenizer

from crossrank.backends import onnx as onnx_backend
from crossrank.backends.base import pad_batch
from crossrank.models import resolve_model

QUERIES = [
    "what causes inflammation in the lungs",
    "vitamin d and bone density",
    "does smoking cause cancer",
    "gene expression in tumors",
]
VARIANTS = {
    "s8 per-channel (shipped)": {"weight_type": QuantType.QInt8, "per_channel": True},
    "s8 per-channel, reduce_range": {"weight_type": QuantType.QInt8, "per_channel": True, "reduce_range": True},
    "u8 per-channel": {"weight_type": QuantType.QUInt8, "per_channel": True},
    "s8 per-tensor": {"weight_type": QuantType.QInt8, "per_channel": False},
}


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = onnx_backend.cpu_threads()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="Model folder (default: the shipped default model).")
    parser.add_argument("--data", default="../shared/data/scifact", help="A BEIR folder with corpus.jsonl(.gz).")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = resolve_model(args.model)
    tokenizer = AutoTokenizer.from_pretrained(model.path, local_files_only=True)
    corpus = Path(args.data) / "corpus.jsonl.gz"
    opener = gzip.open if corpus.exists() else open
    corpus = corpus if corpus.exists() else Path(args.data) / "corpus.jsonl"
    with opener(corpus, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        texts = [json.loads(line)["text"] for _, line in zip(range(8 * len(QUERIES)), handle)]
    batches = [
        pad_batch(*(lambda e: (e["input_ids"], e["token_type_ids"]))(
            tokenizer([q] * 8, texts[i * 8 : (i + 1) * 8], truncation=True, max_length=128)), 0)
        for i, q in enumerate(QUERIES)
    ]

    def run(session: ort.InferenceSession) -> np.ndarray:
        names = [i.name for i in session.get_inputs()]
        return np.concatenate([session.run(None, {n: b[n] for n in names})[0].ravel() for b in batches])

    def p50(session: ort.InferenceSession) -> float:
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            run(session)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        onnx_backend._export(model, folder, quantize=False)
        fp32 = _session(folder / "model.onnx")
        reference = run(fp32)
        print("| variant | mean abs logit error | max | correlation | top-1 unchanged | p50 s (32 pairs) |")
        print("|---|---|---|---|---|---|")
        print(f"| fp32 (reference) | 0 | 0 | 1 | 4/4 | {p50(fp32):.3f} |")
        for name, settings in VARIANTS.items():
            out = folder / "variant.onnx"
            quantize_dynamic(str(folder / "model.onnx"), str(out), op_types_to_quantize=["MatMul"], **settings)
            session = _session(out)
            got = run(session)
            same_top = sum(int(np.argmax(got[i * 8 : (i + 1) * 8]) == np.argmax(reference[i * 8 : (i + 1) * 8]))
                           for i in range(len(QUERIES)))
            print(f"| {name} | {np.abs(got - reference).mean():.3f} | {np.abs(got - reference).max():.3f} | "
                  f"{np.corrcoef(got, reference)[0, 1]:.4f} | {same_top}/{len(QUERIES)} | {p50(session):.3f} |")


if __name__ == "__main__":
    main()
