"""The second stage of an evaluation: rescoring first-stage candidates with the crossrank scorer.

Example:
    ```python
    from crossrank import CrossEncoderScorer
    scorer = CrossEncoderScorer("path/to/cross-encoder")
    reranked = rerank_run(scorer, {"q": "capital of France?"},
                          {"d1": "Bananas are yellow.", "d2": "Paris is the capital of France."},
                          {"q": {"d1": 2.0, "d2": 1.0}})
    reranked.logits["q"]["d2"] > reranked.logits["q"]["d1"]
    # -> True
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crossrank.data import DatasetError, Run
from crossrank.scorer import CrossEncoderScorer


@dataclass(frozen=True)
class RerankedRun:
    """The reranker's scores for the first-stage candidates.

    Attributes:
        logits: query id -> {doc id: raw relevance logit} (the ranking score).
        probabilities: query id -> {doc id: calibrated probability} (the gate's score).
    """

    logits: Run
    probabilities: Run


def rerank_run(
    scorer: CrossEncoderScorer,
    queries: Mapping[str, str],
    passages: Mapping[str, str],
    candidates: Mapping[str, Mapping[str, float]],
    *,
    queries_per_batch: int = 8,
    show_progress_bar: bool = False,
) -> RerankedRun:
    """Score every (query, candidate) pair with ``scorer.score_many``.

    Queries are sent a few at a time so a progress bar can move; within a call the
    scorer pools all windows and batches them by length.

    Args:
        scorer: The crossrank scorer.
        queries: query id -> text (every query of ``candidates`` must be here).
        passages: doc id -> text (every candidate must be here).
        candidates: The first-stage run to rerank (already cut to the depth wanted).
        queries_per_batch: Queries per ``score_many`` call.
        show_progress_bar: Show a progress bar over queries.

    Raises:
        DatasetError: A candidate or query id that is not in the dataset.
    """
    query_ids = sorted(candidates)
    for query_id in query_ids:
        if query_id not in queries:
            raise DatasetError(f"run has query id {query_id!r}, which is not among the dataset's queries")
        missing = [d for d in candidates[query_id] if d not in passages]
        if missing:
            raise DatasetError(
                f"run for query {query_id!r} names {len(missing)} document(s) not in the corpus, e.g. {missing[0]!r}"
            )
    logits: Run = {}
    probabilities: Run = {}
    chunks = [query_ids[i : i + queries_per_batch] for i in range(0, len(query_ids), queries_per_batch)]
    progress = None
    if show_progress_bar:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(query_ids), desc="Reranking", unit="query")
    for chunk in chunks:
        doc_lists = [sorted(candidates[q]) for q in chunk]
        groups = [(queries[q], [passages[d] for d in docs]) for q, docs in zip(chunk, doc_lists)]
        for query_id, docs, scores in zip(chunk, doc_lists, scorer.score_many(groups) if groups else []):
            logits[query_id] = {d: s.logit for d, s in zip(docs, scores)}
            probabilities[query_id] = {d: s.probability for d, s in zip(docs, scores)}
        if progress is not None:
            progress.update(len(chunk))
    if progress is not None:
        progress.close()
    return RerankedRun(logits=logits, probabilities=probabilities)
