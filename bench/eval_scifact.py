"""SciFact: BM25 vs reranked (torch fp32 and ONNX int8) on the same candidates, and int8 parity.

    python bench/eval_scifact.py --model PATH --top-k 100 --out runs/eval-scifact.json

Goal checked: NDCG@10 of the int8 ONNX backend within 0.005 of the fp32 torch model.
Reads ../shared/data/scifact (test split, 300 queries).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from crossrank import CrossEncoderScorer
from crossrank.data import load_beir
from crossrank.evaluation.evaluate import first_stage_run, select_queries
from crossrank.evaluation.first_stage import fuse
from crossrank.evaluation.metrics import compare_runs
from crossrank.evaluation.report import metrics_markdown
from crossrank.evaluation.rerank import rerank_run

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="cross-encoder directory (default: the shipped model)")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--split", default="test")
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--max-queries", type=int, default=None)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()

    data = load_beir(args.data, args.split)
    queries = select_queries(data, args.max_queries)
    candidates = first_stage_run(data, queries, "bm25", args.top_k)
    passages = data.passages()
    runs = {"bm25": candidates}
    seconds = {}
    for backend in ("torch", "onnx"):
        scorer = CrossEncoderScorer(args.model, backend=backend, device="cpu")
        started = time.perf_counter()
        runs[f"reranked {backend}"] = rerank_run(scorer, queries, passages, candidates, show_progress_bar=True).logits
        seconds[backend] = round(time.perf_counter() - started, 1)
    runs["fused (rrf) onnx"] = fuse(candidates, runs["reranked onnx"], method="rrf")
    table = compare_runs({q: data.qrels[q] for q in queries}, runs)
    gap = table.scores["reranked onnx"]["ndcg@10"] - table.scores["reranked torch"]["ndcg@10"]
    print(metrics_markdown(table, baseline="bm25"))
    print(f"\nint8 - fp32 NDCG@10: {gap:+.4f} (goal: |gap| <= 0.005) -> {'met' if abs(gap) <= 0.005 else 'NOT met'}")
    print(f"rerank seconds: {seconds}")
    if args.out:
        report = {"model": args.model, "queries": len(queries), "top_k": args.top_k, "seconds": seconds,
                  "ndcg10_gap_int8_minus_fp32": gap, **table.to_dict()}  # fmt: skip
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
