"""Runs (query id -> {doc id: score}): the best ``k`` per query, and the fusion of two runs.

One home for both, used by the evaluation's first stages (hybrid BM25 + dense, a given
run file cut to ``k``) and by the fusion of a first stage with the reranker in
``crossrank eval``.

Example:
    ```python
    from crossrank.retrieval.runs import fuse_runs, top_k
    top_k({"q": {"a": 1.0, "b": 3.0, "c": 2.0}}, 2)
    # -> {'q': {'b': 3.0, 'c': 2.0}}
    list(fuse_runs({"q": {"a": 10.0, "b": 5.0}}, {"q": {"c": 0.9, "a": 0.8}})["q"])
    # -> ['a', 'c', 'b']
    ```
"""

from __future__ import annotations

from collections.abc import Mapping

from crossrank.data.beir import Run


def top_k(run: Mapping[str, Mapping[str, float]], k: int | None) -> Run:
    """``run`` sorted per query, best first (ties by doc id, so it is deterministic), cut to ``k``.

    ``k=None`` keeps every document.

    Raises:
        ValueError: ``k`` below 1.
    """
    if k is not None and k < 1:
        raise ValueError(f"k must be >= 1 (or None for all), got {k}")
    out: Run = {}
    for query_id, docs in run.items():
        ranked = sorted(docs.items(), key=lambda item: (-item[1], item[0]))
        out[query_id] = dict(ranked if k is None else ranked[:k])
    return out


def fuse_runs(first: Run, second: Run, method: str = "rrf", k: int | None = None) -> Run:
    """Fuse two runs with ``ranx.fuse``; keeps the top ``k`` per query.

    ``method`` is any ranx fusion method: ``rrf`` (default, on ranks, no score
    normalisation), ``wsum`` (equal weights), ``sum``, ``mnz``, ... (on
    min-max normalised scores). A query that only one run answers keeps that run's ranking.
    """
    from ranx import Run as RanxRun
    from ranx import fuse as ranx_fuse

    both = sorted(q for q in first.keys() & second.keys() if first[q] and second[q])
    out: Run = {}
    if both:
        fused = ranx_fuse(
            runs=[RanxRun({q: dict(first[q]) for q in both}), RanxRun({q: dict(second[q]) for q in both})],
            norm=None if method == "rrf" else "min-max",
            method=method,
            params={"weights": [0.5, 0.5]} if method == "wsum" else None,  # wsum: equal weights
        ).to_dict()
        out.update({q: {d: float(s) for d, s in docs.items()} for q, docs in fused.items()})
    for query_id in sorted((first.keys() | second.keys()) - set(both)):
        # ranx needs every query in both runs; with one side empty the fusion is the other side.
        docs = first.get(query_id) or second.get(query_id) or {}
        ranked = sorted(docs.items(), key=lambda item: (-item[1], item[0]))
        if method == "rrf":  # keep scores on the RRF scale (ranx's default k=60)
            out[query_id] = {d: 1.0 / (60 + rank) for rank, (d, _) in enumerate(ranked, start=1)}
        else:
            out[query_id] = dict(ranked)
    return top_k(out, k)
