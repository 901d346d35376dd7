"""Keyword matching: one tokeniser for Qdrant's sparse vectors and the bm25s fallback.

Qdrant's ``Modifier.IDF`` sparse vectors give BM25-style keyword scores inside Qdrant
(so it can fuse them with dense scores), but Qdrant needs the client to turn text
into term ids. FastEmbed's BM25 model would download files at run time, so the
terms come from bm25s' tokeniser (lower-casing, English stop words, Snowball
stemming) and each term is hashed to a stable id. The keyword fallback shown when
nothing is relevant uses bm25s itself over the same chunks.

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

import functools
import threading
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qdrant_client import models


@functools.lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """The keyword terms of ``text`` (lower-cased, stop words removed, stemmed)."""
    import bm25s

    tokens: list[list[str]] = bm25s.tokenize(
        [text], stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return tokens[0]


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
        import bm25s

        self.payloads = list(payloads)
        self._lock = threading.Lock()
        self._retriever = bm25s.BM25()
        if self.payloads:
            corpus_tokens = bm25s.tokenize(
                [str(p.get("text", "")) for p in self.payloads],
                stopwords="en",
                stemmer=_stemmer(),
                show_progress=False,
            )
            self._retriever.index(corpus_tokens, show_progress=False)

    def __len__(self) -> int:
        return len(self.payloads)

    def search(self, query: str, k: int = 5) -> list[KeywordHit]:
        """The ``k`` best chunks for ``query`` with a positive BM25 score (none share no term)."""
        if not self.payloads or not terms(query):
            return []
        query_tokens = [terms(query)]
        with self._lock:  # bm25s' retriever keeps per-call state; one search at a time
            docs, scores = self._retriever.retrieve(
                query_tokens, k=min(k, len(self.payloads)), show_progress=False, n_threads=1
            )
        hits: list[KeywordHit] = []
        for doc, score in zip(docs[0].tolist(), scores[0].tolist()):
            if score > 0:
                hits.append(
                    KeywordHit(rank=len(hits) + 1, score=float(score), payload=self.payloads[int(doc)])
                )
        return hits
