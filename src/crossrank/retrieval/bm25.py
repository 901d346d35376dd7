"""BM25 over a list of texts, with the one tokeniser configuration crossrank uses everywhere.

Lower-casing, English stop words and Snowball stemming (bm25s' tokeniser with PyStemmer),
so a keyword query scores the same in the RAG fallback, in Qdrant's sparse vectors, in
the evaluation first stage and in negative mining. bm25s does the indexing and scoring;
this module only fixes its configuration, keeps one stemmer per process and makes its
results plain ``(position, float)`` pairs.

Example:
    ```python
    index = BM25Index(["Pandas eat bamboo.", "Dogs bark.", "Red pandas eat bamboo too."])
    [position for position, _ in index.search("what do pandas eat", k=2)]
    # -> [0, 2]
    terms("The running dogs")
    # -> ['run', 'dog']
    ```
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np


@functools.lru_cache(maxsize=1)
def _stemmer() -> Any:
    # One per process: building PyStemmer's stemmer per call showed in profiles of small queries.
    import Stemmer

    return Stemmer.Stemmer("english")


def _tokenize(texts: Sequence[str], return_ids: bool) -> Any:
    """bm25s' tokeniser with the one configuration: English stop words, Snowball stemming."""
    import bm25s

    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=return_ids, show_progress=False
    )


def tokenize(texts: Sequence[str]) -> Any:
    """bm25s tokens (ids and vocabulary) of ``texts`` with crossrank's configuration.

    Example:
        ```python
        tokenize(["dogs bark", "cats purr"]).vocab
        # -> {'dog': 0, 'bark': 1, 'cat': 2, 'purr': 3}
        ```
    """
    return _tokenize(texts, return_ids=True)


def terms(text: str) -> list[str]:
    """The keyword terms of ``text``: lower-cased, stop words removed, stemmed.

    Example:
        ```python
        terms("What do the pandas eat?")
        # -> ['panda', 'eat']
        ```
    """
    tokens: list[list[str]] = _tokenize([text], return_ids=False)
    return tokens[0]


class BM25Index:
    """A BM25 index over ``texts``; results name a text by its position in that list.

    Args:
        texts: The documents, in the order results refer to them. May be empty (every
            search then finds nothing).

    Example:
        ```python
        index = BM25Index(["cats purr", "cats sleep a lot", "dogs bark"])
        index.search("why do cats purr", k=3)
        # -> [(0, 0.9...), (1, 0.2...)]   (dogs share no term: not retrieved)
        index.search_many(["cats", "dogs"], k=1)
        # -> [[(0, 0.1...)], [(2, 0.5...)]]
        ```
    """

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        self._size = len(texts)
        self._lock = threading.Lock()  # bm25s' retriever keeps per-call state: one search at a time
        self._retriever = bm25s.BM25()
        if self._size:
            self._retriever.index(tokenize(texts), show_progress=False)

    def __len__(self) -> int:
        return self._size

    def search(self, query: str, k: int, *, include_zero: bool = False) -> list[tuple[int, float]]:
        """The ``k`` best texts for ``query``, best first, as ``(position, score)``.

        A text with score 0 shares no term with the query and is left out unless
        ``include_zero`` (negative mining wants ``k`` candidates whatever they share).
        """
        return self.search_many([query], k, include_zero=include_zero)[0]

    def search_many(
        self, queries: Sequence[str], k: int, *, include_zero: bool = False
    ) -> list[list[tuple[int, float]]]:
        """``search`` for each of ``queries`` in one pass; one list per query, in order."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if not self._size or not queries:
            return [[] for _ in queries]
        token_lists: list[list[str]] = _tokenize(queries, return_ids=False)
        if not include_zero and not any(token_lists):
            return [[] for _ in queries]  # no query has a term the index could match
        # bm25s refuses a query with no tokens; a placeholder no text contains scores 0 everywhere.
        token_lists = [tokens or ["\x00"] for tokens in token_lists]
        with self._lock:
            positions, scores = self._retriever.retrieve(
                token_lists, k=min(k, self._size), show_progress=False, n_threads=1
            )
        return [
            [(int(p), float(s)) for p, s in zip(row_positions, row_scores) if include_zero or float(s) > 0.0]
            for row_positions, row_scores in zip(np.asarray(positions), np.asarray(scores))
        ]

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every text for ``query``, in text order (0 for no shared term).

        Example:
            ```python
            BM25Index(["cats purr", "dogs bark"]).scores("cats")
            # -> [0.2..., 0.0]
            ```
        """
        if not self._size:
            return []
        with self._lock:
            return [float(s) for s in self._retriever.get_scores(terms(query))]
