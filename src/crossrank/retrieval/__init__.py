"""First-stage retrieval shared by the RAG app, evaluation and training: one home each.

``crossrank.retrieval.bm25`` is the one BM25 (bm25s, with one tokeniser configuration),
``crossrank.retrieval.embed`` the one bi-encoder loader (offline default
all-MiniLM-L6-v2) and ``crossrank.retrieval.runs`` the one top-k and run fusion (ranx); the RAG app (ingestion, dense search, keyword fallback, Qdrant sparse
vectors), the evaluation first stages, negative mining, teacher scoring and the
benchmarks all build on them.

Example:
    ```python
    from crossrank.retrieval import BM25Index
    BM25Index(["cats purr", "dogs bark"]).search("why do cats purr", k=1)
    # -> [(0, 0.46...)]
    ```

BM25 needs bm25s and PyStemmer (the ``rag``, ``eval`` and ``train`` extras), imported
on first use; the embedder needs sentence-transformers (a core dependency).
"""

from crossrank.retrieval.bm25 import BM25Index, terms, tokenize
from crossrank.retrieval.embed import Embedder, default_embedding_model, load_embedder

__all__ = ["BM25Index", "Embedder", "default_embedding_model", "load_embedder", "terms", "tokenize"]
