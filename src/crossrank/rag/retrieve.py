"""The first stage: top-k candidates from Qdrant (dense or hybrid), and the keyword fallback.

* ``dense``: cosine similarity of the question's embedding.
* ``hybrid``: Qdrant's own fusion (reciprocal rank fusion) of the dense search and
  the IDF-weighted sparse keyword search, both run inside Qdrant in one query.
* ``KeywordFallback``: bm25s over every chunk in the collection, used when the
  reranker finds nothing relevant. The index is built on first use and rebuilt
  when the collection's size changes.

Example:
    ```python
    from crossrank.rag.settings import RagSettings
    from crossrank.rag.store import open_store
    import tempfile
    settings = RagSettings(qdrant_path=tempfile.mkdtemp())
    retriever = Retriever(open_store(settings), first_stage="dense")
    retriever.first_stage
    # -> 'dense'
    ```
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from qdrant_client import models

from crossrank.rag.keywords import KeywordHit, KeywordIndex, sparse_vector
from crossrank.rag.store import DENSE, SPARSE, ChunkStore
from crossrank.retrieval.embed import Embedder, load_embedder


@dataclass(frozen=True)
class Candidate:
    """One first-stage result.

    Attributes:
        id: The Qdrant point id.
        rank: 1-based first-stage rank.
        score: First-stage score (cosine, or the fused RRF score), a plain float.
        text: The chunk text.
        source: The file it came from.
        title: The document title.
        chunk_index: Its position in the file.
    """

    id: str
    rank: int
    score: float
    text: str
    source: str
    title: str
    chunk_index: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "rank": self.rank,
            "score": self.score,
            "source": self.source,
            "title": self.title,
            "chunk_index": self.chunk_index,
            "text": self.text,
        }


class Retriever:
    """Top-k candidates for a question from one chunk collection.

    Args:
        store: The collection.
        first_stage: ``"dense"`` or ``"hybrid"``.
        embedder: The bi-encoder the collection was built with (default: the offline default).
    """

    def __init__(
        self, store: ChunkStore, first_stage: str = "dense", embedder: Embedder | None = None
    ) -> None:
        if first_stage not in ("dense", "hybrid"):
            raise ValueError(f"first_stage must be 'dense' or 'hybrid', got {first_stage!r}")
        self.store = store
        self.first_stage = first_stage
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        """The bi-encoder, loaded on first use."""
        if self._embedder is None:
            self._embedder = load_embedder()
        return self._embedder

    def retrieve(self, question: str, k: int) -> list[Candidate]:
        """The ``k`` best chunks for ``question``, best first.

        Raises:
            LookupError: Nothing has been ingested into the collection yet.
        """
        self.store.require_collection()
        dense = self.embedder.embed([question])[0]
        if self.first_stage == "hybrid":
            points = self.store.query(
                prefetch=[
                    models.Prefetch(query=dense, using=DENSE, limit=k),
                    models.Prefetch(query=sparse_vector(question), using=SPARSE, limit=k),
                ],
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                limit=k,
                with_payload=True,
            )
        else:
            points = self.store.query(query=dense, using=DENSE, limit=k, with_payload=True)
        return [
            Candidate(
                id=str(p.id),
                rank=rank,
                score=float(p.score),
                text=str((p.payload or {}).get("text", "")),
                source=str((p.payload or {}).get("source", "")),
                title=str((p.payload or {}).get("title", "")),
                chunk_index=int((p.payload or {}).get("chunk_index", 0)),
            )
            for rank, p in enumerate(points, start=1)
        ]


class KeywordFallback:
    """bm25s keyword search over every chunk of the collection.

    Example:
        ```python
        import tempfile
        from crossrank.rag.settings import RagSettings
        from crossrank.rag.store import open_store
        store = open_store(RagSettings(qdrant_path=tempfile.mkdtemp()))
        KeywordFallback(store).search("anything", k=3)
        # -> []
        ```
    """

    def __init__(self, store: ChunkStore) -> None:
        self.store = store
        self._index: KeywordIndex | None = None
        self._indexed_count = -1
        self._lock = threading.Lock()

    def _current_index(self) -> KeywordIndex:
        count = self.store.count()
        with self._lock:
            # Rebuild when the collection grew or shrank. An in-place update of a file
            # with the same number of chunks is picked up by a new pipeline (the CLI
            # builds one per run); a long-running server can call refresh().
            if self._index is None or count != self._indexed_count:
                payloads = (
                    list(self.store.scroll_payloads(["text", "source", "title", "chunk_index"]))
                    if count
                    else []
                )
                self._index = KeywordIndex(payloads)
                self._indexed_count = count
            return self._index

    def refresh(self) -> None:
        """Forget the index; the next search rebuilds it from the collection."""
        with self._lock:
            self._index = None

    def search(self, question: str, k: int) -> list[KeywordHit]:
        """The ``k`` best keyword matches (only chunks sharing a term with the question)."""
        return self._current_index().search(question, k=k)
