"""The Qdrant collection holding the chunks: connecting, creating, and the point layout.

Embedded Qdrant (``QdrantClient(path=...)``) locks its folder for one client, so
this module keeps one client per folder per process: ingestion, the pipeline and
the server all share it. A server URL is probed once on connect with a short
timeout, so a Qdrant that does not answer gives one clear error in seconds.

Point layout: a named dense vector ``dense`` (cosine) and a sparse vector
``sparse`` with ``Modifier.IDF`` (keyword terms, see ``keywords.py``); the payload
holds ``text``, ``source``, ``title``, ``chunk_index``, ``chunk_count`` and the
file's ``content_hash``. Point ids are ``uuid5(source#chunk_index)``, so
re-ingesting a file overwrites its points instead of adding copies.

Example:
    ```python
    from crossrank.rag.settings import RagSettings
    import tempfile
    store = open_store(RagSettings(qdrant_path=tempfile.mkdtemp()))
    store.ensure_collection(dense_size=384)
    store.count()
    # -> 0
    ```
"""

from __future__ import annotations

import atexit
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from crossrank.rag.settings import RagSettings

DENSE = "dense"
SPARSE = "sparse"
POINT_NAMESPACE = uuid.UUID("5b0e3c1a-7f0c-4d59-9d0e-2f6b1c7a9e41")


class QdrantUnavailableError(ConnectionError):
    """Qdrant could not be reached or opened; the message says which one and what to do."""


def _not_ingested(collection: str, where: str) -> LookupError:
    return LookupError(
        f"no collection {collection!r} in {where}: run `crossrank ingest PATH` first "
        "(with the same --collection / --qdrant-url / --qdrant-path)."
    )


def point_id(source: str, chunk_index: int) -> str:
    """The stable id of one chunk: the same source and position always give the same id.

    Example:
        ```python
        point_id("docs/a.md", 0) == point_id("docs/a.md", 0) != point_id("docs/a.md", 1)
        # -> True
        ```
    """
    return str(uuid.uuid5(POINT_NAMESPACE, f"{source}#{chunk_index}"))


_embedded_clients: dict[Path, QdrantClient] = {}
_embedded_lock = threading.Lock()


@atexit.register
def _close_embedded_clients() -> None:
    # Close while the interpreter is intact: QdrantClient.__del__ at shutdown prints a traceback.
    with _embedded_lock:
        for client in _embedded_clients.values():
            client.close()
        _embedded_clients.clear()


def _embedded_client(path: Path) -> QdrantClient:
    folder = path.expanduser().resolve()
    with _embedded_lock:
        client = _embedded_clients.get(folder)
        if client is None:
            folder.mkdir(parents=True, exist_ok=True)
            try:
                client = QdrantClient(path=str(folder))
            except RuntimeError as exc:  # portalocker: another process holds the folder
                raise QdrantUnavailableError(
                    f"the embedded Qdrant store at {folder} is in use by another process ({exc}). "
                    "Stop that process, or run a Qdrant server and pass --qdrant-url / CROSSRANK_RAG_QDRANT_URL "
                    "so several processes can share it."
                ) from exc
            _embedded_clients[folder] = client
        return client


def _server_client(settings: RagSettings) -> QdrantClient:
    url = settings.qdrant_url or ""
    key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    timeout = settings.qdrant_timeout_s
    client = QdrantClient(url=url, api_key=key, timeout=max(1, round(timeout)))
    try:
        client.get_collections()
    except Exception as exc:  # connection refused, timeout, TLS, 401: all mean "cannot use it"
        client.close()
        raise QdrantUnavailableError(
            f"Qdrant server at {url} did not answer within {timeout:g} s ({type(exc).__name__}: {exc}). "
            "Check the URL and API key and that the server is running (docker compose up qdrant), "
            "or leave --qdrant-url / CROSSRANK_RAG_QDRANT_URL unset to use the embedded store."
        ) from exc
    return client


class ChunkStore:
    """One Qdrant collection of chunks, over an embedded or a server client.

    Build it with ``open_store(settings)``.
    """

    def __init__(self, client: QdrantClient, collection: str, *, embedded: bool, where: str) -> None:
        self.client = client
        self.collection = collection
        self.embedded = embedded
        self.where = where
        # The embedded client is plain Python and not documented as thread-safe:
        # serialise calls into it. A server client is safe to share.
        self._lock: AbstractContextManager[Any] = threading.RLock() if embedded else nullcontext()

    def exists(self) -> bool:
        """Whether the collection exists."""
        with self._lock:
            return bool(self.client.collection_exists(self.collection))

    def ensure_collection(self, dense_size: int) -> None:
        """Create the collection if needed; check an existing one has the same dense size."""
        with self._lock:
            if self.client.collection_exists(self.collection):
                info = self.client.get_collection(self.collection)
                vectors = info.config.params.vectors
                size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
                if size != dense_size:
                    raise ValueError(
                        f"collection {self.collection!r} in {self.where} was not made by crossrank ingest with "
                        f"this embedding model (dense vectors of size {size}, the model gives {dense_size}). "
                        "Use another --collection or the embedding model it was built with."
                    )
                return
            self.client.create_collection(
                self.collection,
                vectors_config={DENSE: models.VectorParams(size=dense_size, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
            if not self.embedded:  # payload indexes only matter (and only exist) on a server
                self.client.create_payload_index(self.collection, "source", models.PayloadSchemaType.KEYWORD)

    def require_collection(self) -> None:
        """Raise a clear error when there is nothing ingested yet."""
        if not self.exists():
            raise _not_ingested(self.collection, self.where)

    def count(self) -> int:
        """Number of chunks stored (0 when the collection does not exist)."""
        if not self.exists():
            return 0
        with self._lock:
            return int(self.client.count(self.collection, exact=True).count)

    def upsert(self, points: list[models.PointStruct]) -> None:
        """Write points (same id: overwritten)."""
        with self._lock:
            self.client.upsert(self.collection, points=points, wait=True)

    def delete_source(self, source: str, from_chunk: int = 0) -> None:
        """Delete the chunks of ``source`` with ``chunk_index >= from_chunk``."""
        conditions: list[models.Condition] = [
            models.FieldCondition(key="source", match=models.MatchValue(value=source))
        ]
        if from_chunk > 0:
            conditions.append(models.FieldCondition(key="chunk_index", range=models.Range(gte=from_chunk)))
        with self._lock:
            self.client.delete(
                self.collection,
                points_selector=models.FilterSelector(filter=models.Filter(must=conditions)),
                wait=True,
            )

    def scroll_payloads(self, fields: list[str] | bool = True, batch: int = 512) -> Iterator[dict[str, Any]]:
        """Every stored payload (or the given fields of it), in id order."""
        offset: Any = None
        while True:
            with self._lock:
                points, offset = self.client.scroll(
                    self.collection, limit=batch, offset=offset, with_payload=fields, with_vectors=False
                )
            for point in points:
                yield dict(point.payload or {})
            if offset is None:
                return

    def query(self, **kwargs: Any) -> list[models.ScoredPoint]:
        """``QdrantClient.query_points`` on this collection."""
        with self._lock:
            return list(self.client.query_points(self.collection, **kwargs).points)


def open_ingested_store(settings: RagSettings) -> ChunkStore:
    """Open the store to read from it, failing fast when nothing has been ingested there.

    Unlike ``open_store`` it never creates anything: an embedded folder that holds no
    store is reported without opening it (opening would write ``meta.json`` there), so
    a question asked of the wrong ``--qdrant-path`` leaves the disk as it was.

    Example:
        store = open_ingested_store(RagSettings(qdrant_path="never-ingested"))
        # LookupError: no collection 'crossrank' in embedded Qdrant at never-ingested:
        # run `crossrank ingest PATH` first (...); the folder is still not there

    Raises:
        LookupError: No store at the embedded folder, or no such collection in it.
        QdrantUnavailableError: As ``open_store``.
    """
    if not settings.qdrant_url:
        folder = settings.qdrant_path.expanduser().resolve()
        # meta.json is the file Qdrant's embedded mode writes first when it creates a store.
        if folder not in _embedded_clients and not (folder / "meta.json").is_file():
            raise _not_ingested(settings.collection, f"embedded Qdrant at {settings.qdrant_path}")
    store = open_store(settings)
    store.require_collection()
    return store


def open_store(settings: RagSettings) -> ChunkStore:
    """Connect to the Qdrant the settings name: the server at ``qdrant_url`` or the embedded folder.

    Raises:
        QdrantUnavailableError: The server does not answer within ``qdrant_timeout_s``,
            or another process holds the embedded folder.
    """
    if settings.qdrant_url:
        return ChunkStore(
            _server_client(settings),
            settings.collection,
            embedded=False,
            where=f"Qdrant server {settings.qdrant_url}",
        )
    path = settings.qdrant_path
    return ChunkStore(
        _embedded_client(path), settings.collection, embedded=True, where=f"embedded Qdrant at {path}"
    )
