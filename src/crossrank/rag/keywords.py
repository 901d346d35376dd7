"""Keyword matching: one tokeniser for Qdrant's sparse vectors and the bm25s fallback.

Qdrant's ``Modifier.IDF`` sparse vectors give BM25-style keyword scores inside Qdrant
(so it can fuse them with dense scores), but Qdrant needs the client to turn text
into term ids. FastEmbed's BM25 model would download files at run time, so the
terms come from ``crossrank.retrieval.bm25`` (bm25s' tokeniser: lower-casing, English
stop words, Snowball stemming) and each term is hashed to a stable id. The keyword
fallback shown when nothing is relevant is that module's ``BM25Index`` over the same
chunks.

Example:
    ```python
    terms("The running dogs")
    # -> ['run', 'dog']
    vector = sparse_vector("dogs and the dogs")
    len(vector.indices), max(vector.values)
    # -> (1, 2.0)
    ```
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qdrant_client import models

from crossrank.retrieval.bm25 import BM25Index, terms

__all__ = ["KeywordHit", "KeywordIndex", "sparse_vector", "term_id", "terms"]


def term_id(term: str) -> int:
    """A stable id for a term: the same in every process, so stored vectors stay valid."""
    return zlib.crc32(term.encode("utf-8"))


def sparse_vector(text: str) -> models.SparseVector:
    """Term counts of ``text`` as a Qdrant sparse vector (Qdrant applies IDF itself).

    Example:
        ```python
        sparse_vector("").indices
        # -> []
        ```
    """
    counts = Counter(term_id(t) for t in terms(text))
    ids = sorted(counts)
    return models.SparseVector(indices=ids, values=[float(counts[i]) for i in ids])


@dataclass(frozen=True)
class KeywordHit:
    """One keyword-search result.

    Attributes:
        rank: 1-based rank.
        score: BM25 score, a plain float.
        payload: The chunk's stored payload (text, source, title, chunk_index, ...).
    """

    rank: int
    score: float
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "rank": self.rank,
            "score": self.score,
            "source": self.payload.get("source"),
            "title": self.payload.get("title"),
            "chunk_index": self.payload.get("chunk_index"),
            "text": self.payload.get("text"),
        }


class KeywordIndex:
    """A bm25s index over chunk payloads.

    Example:
        ```python
        index = KeywordIndex([{"text": "Pandas eat bamboo."}, {"text": "Dogs bark."}])
        [hit.payload["text"] for hit in index.search("what do pandas eat", k=1)]
        # -> ['Pandas eat bamboo.']
        ```
    """

    def __init__(self, payloads: Sequence[dict[str, Any]]) -> None:
        self.payloads = list(payloads)
        self._index = BM25Index([str(p.get("text", "")) for p in self.payloads])

    def __len__(self) -> int:
        return len(self.payloads)

    def search(self, query: str, k: int = 5) -> list[KeywordHit]:
        """The ``k`` best chunks for ``query`` with a positive BM25 score (none share no term)."""
        return [
            KeywordHit(rank=rank, score=score, payload=self.payloads[position])
            for rank, (position, score) in enumerate(self._index.search(query, k), start=1)
        ]
