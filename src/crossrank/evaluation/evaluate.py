"""One evaluation: first stage -> crossrank rerank -> fusion -> metrics and threshold analysis.

Example:
    ```python
    from crossrank import CrossEncoderScorer
    from crossrank.data import load_beir
    result = evaluate_dataset(CrossEncoderScorer(), load_beir("path/to/scifact"),
                              first_stage="bm25", top_k=100)
    result.table.scores["reranked"]["ndcg@10"] > result.table.scores["bm25"]["ndcg@10"]
    # -> True
    ```
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossrank.data import BeirDataset, Run, load_trec_run
from crossrank.evaluation.first_stage import FIRST_STAGES, bm25_run, dense_run, hybrid_run
from crossrank.evaluation.metrics import DEFAULT_METRICS, MetricsTable, compare_runs
from crossrank.evaluation.rerank import RerankedRun, rerank_run
from crossrank.evaluation.thresholds import ThresholdAnalysis, threshold_analysis
from crossrank.retrieval.runs import fuse_runs, top_k
from crossrank.scorer import CrossEncoderScorer

RERANKED = "reranked"


@dataclass
class EvaluationResult:
    """Everything one evaluation produced.

    Attributes:
        table: Metrics of the first stage, the reranked run and the fused run.
        thresholds: The gate's threshold sweep on the reranked candidates.
        runs: run name -> run (first stage, reranked logits, fused).
        reranked: The reranker's logits and probabilities.
        summary: Settings and timings, JSON-ready.
    """

    table: MetricsTable
    thresholds: ThresholdAnalysis | None
    runs: dict[str, Run]
    reranked: RerankedRun
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def baseline(self) -> str:
        """The first stage's run name (what the reranker is compared with)."""
        return next(iter(self.runs))


def select_queries(dataset: BeirDataset, max_queries: int | None) -> dict[str, str]:
    """The first ``max_queries`` judged queries in id order (all when ``None``): deterministic subsets."""
    ids = sorted(dataset.queries)
    if max_queries is not None:
        if max_queries < 1:
            raise ValueError(f"max_queries must be >= 1, got {max_queries}")
        ids = ids[:max_queries]
    return {q: dataset.queries[q] for q in ids}


def first_stage_run(
    dataset: BeirDataset,
    queries: dict[str, str],
    first_stage: str,
    k: int,
    *,
    run_file: str | Path | None = None,
    encoder: str | None = None,
    qdrant_path: str | Path | None = None,
    show_progress_bar: bool = False,
) -> Run:
    """Candidates per query from the chosen first stage (``bm25``, ``dense``, ``hybrid`` or ``run``)."""
    if first_stage not in FIRST_STAGES:
        raise ValueError(f"unknown first stage {first_stage!r}; choose one of {FIRST_STAGES}")
    passages = dataset.passages()
    if first_stage == "run":
        if run_file is None:
            raise ValueError("first stage 'run' needs a run file (--run-file)")
        loaded = load_trec_run(run_file)
        return top_k({q: loaded.get(q, {}) for q in queries}, k)
    if first_stage == "bm25":
        return bm25_run(passages, queries, k)
    dense = dense_run(
        passages, queries, k, encoder=encoder, qdrant_path=qdrant_path, show_progress_bar=show_progress_bar
    )
    if first_stage == "dense":
        return dense
    return hybrid_run(bm25_run(passages, queries, k), dense, k)


def evaluate_dataset(
    scorer: CrossEncoderScorer,
    dataset: BeirDataset,
    first_stage: str = "bm25",
    *,
    top_k_candidates: int = 100,
    max_queries: int | None = None,
    fusion: str = "rrf",
    run_file: str | Path | None = None,
    encoder: str | None = None,
    qdrant_path: str | Path | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    thresholds: bool = True,
    show_progress_bar: bool = False,
) -> EvaluationResult:
    """Retrieve, rerank, fuse and score one dataset split.

    Args:
        scorer: The crossrank scorer to evaluate.
        dataset: A loaded BEIR dataset (see ``load_beir``).
        first_stage: ``bm25``, ``dense``, ``hybrid`` or ``run`` (with ``run_file``).
        top_k_candidates: Candidates per query passed to the reranker.
        max_queries: Evaluate only the first N judged queries (by id).
        fusion: ranx fusion method combining first-stage and rerank ranks (``rrf``:
            reciprocal rank fusion, which needs no score normalisation).
        run_file: TREC run for ``first_stage="run"``.
        encoder: Bi-encoder directory for dense/hybrid (default all-MiniLM-L6-v2).
        qdrant_path: On-disk embedded Qdrant folder for dense/hybrid (default in memory).
        metrics: ranx metric names.
        thresholds: Also run the threshold analysis.
        show_progress_bar: Progress bars for embedding and reranking.
    """
    queries = select_queries(dataset, max_queries)
    started = time.perf_counter()
    first = first_stage_run(
        dataset,
        queries,
        first_stage,
        top_k_candidates,
        run_file=run_file,
        encoder=encoder,
        qdrant_path=qdrant_path,
        show_progress_bar=show_progress_bar,
    )
    retrieval_s = time.perf_counter() - started
    started = time.perf_counter()
    reranked = rerank_run(scorer, queries, dataset.passages(), first, show_progress_bar=show_progress_bar)
    rerank_s = time.perf_counter() - started
    fused_name = f"fused ({fusion})"
    runs = {
        first_stage: first,
        RERANKED: reranked.logits,
        fused_name: fuse_runs(first, reranked.logits, method=fusion),
    }
    qrels = {q: dataset.qrels[q] for q in queries}
    table = compare_runs(qrels, runs, metrics)
    analysis = threshold_analysis(reranked.probabilities, qrels) if thresholds else None
    pairs = sum(len(docs) for docs in first.values())
    summary = {
        "dataset": dataset.name,
        "split": dataset.split,
        "queries": len(queries),
        "first_stage": first_stage,
        "candidates_per_query": top_k_candidates,
        "pairs_reranked": pairs,
        "model": scorer.model_name,
        "backend": scorer.backend.name,
        "calibrated": scorer.calibration is not None,
        "fusion": fusion,
        "retrieval_seconds": round(retrieval_s, 2),
        "rerank_seconds": round(rerank_s, 2),
        "rerank_pairs_per_second": round(pairs / rerank_s, 1) if rerank_s > 0 else None,
    }
    return EvaluationResult(table=table, thresholds=analysis, runs=runs, reranked=reranked, summary=summary)
