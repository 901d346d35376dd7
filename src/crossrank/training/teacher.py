"""Teacher scores for distillation: a bi-encoder's cosine for every (query, candidate), computed once.

Encoding is the expensive part (all-mpnet-base-v2 reads about 15 passages a second on
two CPU cores), so every distinct text is encoded once and its embedding is kept in an
on-disk cache keyed by the teacher and the text. A later recipe, a resumed run or
``crossrank adapt`` on the same documents reuses it instead of encoding again.

Example:
    ```python
    from crossrank.training.teacher import TeacherCache

    cache = TeacherCache("/work/cache/teacher", teacher="path/to/all-mpnet-base-v2")
    scores = cache.score([("what is bm25", ["BM25 is a ranking function.", "Paris is in France."])])
    ```
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from crossrank.retrieval.embed import Embedder

logger = logging.getLogger(__name__)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class TeacherCache:
    """Embeddings of one bi-encoder teacher, cached in a folder as ``.npy`` shards.

    Args:
        folder: Where the shards live (one sub-folder per teacher and length).
        teacher: The bi-encoder: a local folder or a cached hub id.
        max_length: Tokens the teacher reads of each text.
        batch_size: Texts per forward pass.
    """

    def __init__(self, folder: str | Path, teacher: str, max_length: int = 256, batch_size: int = 32) -> None:
        self.teacher = str(teacher)
        self.max_length = max_length
        self.batch_size = batch_size
        name = hashlib.sha1(f"{Path(self.teacher).name}|{self.teacher}|{max_length}".encode()).hexdigest()[
            :12
        ]
        self.folder = Path(folder) / f"{Path(self.teacher).name}-{name}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._index: dict[str, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self._encoder: Embedder | None = None
        for shard_no, path in enumerate(sorted(self.folder.glob("shard-*.npy"))):
            keys = (path.with_suffix(".keys")).read_text(encoding="utf-8").split("\n")
            vectors = np.load(path)
            if len(keys) != len(vectors):
                raise ValueError(
                    f"{path}: {len(vectors)} vectors but {len(keys)} keys; delete the shard and rerun"
                )
            self._shards.append(vectors)
            for row, key in enumerate(keys):
                self._index[key] = (shard_no, row)

    def __len__(self) -> int:
        return len(self._index)

    def _model(self) -> Embedder:
        if self._encoder is None:
            from crossrank.retrieval.embed import load_embedder

            self._encoder = load_embedder(self.teacher, max_length=self.max_length)
        return self._encoder

    def add(self, texts: Iterable[str], shard_size: int = 512) -> int:
        """Encode the texts not cached yet (in shards, so an interrupted run keeps what it did); returns how many."""
        missing = sorted({t for t in texts if _key(t) not in self._index}, key=len)
        for start in range(0, len(missing), shard_size):
            chunk = missing[start : start + shard_size]
            vectors = self._model().encode(chunk, batch_size=self.batch_size)
            shard_no = len(self._shards)
            path = self.folder / f"shard-{shard_no:05d}.npy"
            keys = [_key(t) for t in chunk]
            path.with_suffix(".keys").write_text("\n".join(keys), encoding="utf-8")
            np.save(path, np.asarray(vectors, dtype=np.float32))
            self._shards.append(np.asarray(vectors, dtype=np.float32))
            for row, key in enumerate(keys):
                self._index[key] = (shard_no, row)
            logger.info(
                "teacher: %d of %d new texts encoded", min(start + shard_size, len(missing)), len(missing)
            )
        return len(missing)

    def vector(self, text: str) -> np.ndarray:
        """The cached unit-length embedding of ``text`` (``KeyError`` if it was never added)."""
        shard, row = self._index[_key(text)]
        return self._shards[shard][row]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts`` (rows in order), encoding what is not cached yet.

        The teacher doubles as the dense retriever for mining, so the pool is encoded once for both.
        """
        self.add(texts)
        return np.stack([self.vector(t) for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def score(self, groups: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
        """Cosine of each query with each of its candidates, encoding what is not cached yet."""
        self.add([q for q, _ in groups] + [p for _, passages in groups for p in passages])
        result = []
        for query, passages in groups:
            q = self.vector(query)
            result.append([float(q @ self.vector(p)) for p in passages])
        return result
