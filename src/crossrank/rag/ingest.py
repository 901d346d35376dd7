"""Ingesting files into Qdrant: read, split, embed, upsert; idempotent and incremental.

* Folders are walked recursively (hidden files and folders are skipped); files of
  an unsupported type are listed in the report as skipped, never dropped silently.
* Each file gets a fingerprint (its bytes plus the chunking and embedding settings).
  A file whose fingerprint is already stored is left alone; a changed file gets
  its chunks overwritten (ids are ``uuid5(source#chunk)``) and any surplus old
  chunks deleted; a file that disappeared from an ingested folder loses its chunks.
* A file that cannot be parsed is reported with the reason and skipped; the rest
  is ingested.

Example:
    ```python
    import pathlib, tempfile
    from crossrank.rag.settings import RagSettings
    folder = pathlib.Path(tempfile.mkdtemp())
    _ = (folder / "pandas.md").write_text("# Pandas\\n\\nGiant pandas eat bamboo.")
    settings = RagSettings(qdrant_path=folder / ".store")
    report = ingest([folder], settings, show_progress=False)
    report.count("added"), report.chunks_written
    # -> (1, 1)
    ingest([folder], settings, show_progress=False).count("unchanged")
    # -> 1
    ```
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from qdrant_client import models

from crossrank.rag.keywords import sparse_vector
from crossrank.rag.parse import SUPPORTED_SUFFIXES, ParsedDocument, ParseError, parse_file
from crossrank.rag.settings import RagSettings
from crossrank.rag.store import DENSE, SPARSE, ChunkStore, open_store, point_id
from crossrank.retrieval.embed import Embedder, load_embedder

Status = Literal["added", "updated", "unchanged", "deleted", "failed", "skipped"]
STATUSES: tuple[Status, ...] = ("added", "updated", "unchanged", "deleted", "failed", "skipped")


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file.

    Attributes:
        source: The file's absolute path (the ``source`` stored with its chunks).
        status: added, updated, unchanged, deleted, failed or skipped.
        chunks: Chunks now stored for it (0 for failed, skipped, deleted).
        reason: Why it failed or was skipped.
    """

    source: str
    status: Status
    chunks: int = 0
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"source": self.source, "status": self.status, "chunks": self.chunks, "reason": self.reason}


@dataclass
class IngestReport:
    """The outcome of one ingestion run.

    Attributes:
        files: One outcome per file seen (and per stored file that was deleted).
        chunks_written: Chunks embedded and upserted in this run.
        chunks_total: Chunks in the collection afterwards.
        seconds: Wall time of the run.
        where: The store and collection.
    """

    files: list[FileOutcome] = field(default_factory=list)
    chunks_written: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    where: str = ""

    def count(self, status: Status) -> int:
        """How many files ended with ``status``."""
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        """The files that could not be parsed."""
        return [f for f in self.files if f.status == "failed"]

    def summary(self) -> str:
        """One line for people: counts per status, chunks and time."""
        counts = ", ".join(f"{self.count(s)} {s}" for s in STATUSES if self.count(s))
        return (
            f"{counts or 'no files'}; {self.chunks_written} chunks written, {self.chunks_total} in the collection "
            f"({self.where}); {self.seconds:.1f} s"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "counts": {s: self.count(s) for s in STATUSES},
            "chunks_written": self.chunks_written,
            "chunks_total": self.chunks_total,
            "seconds": self.seconds,
            "where": self.where,
            "files": [f.to_dict() for f in self.files],
        }


def discover(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Path], list[Path]]:
    """Expand ``paths`` into (supported files, folders walked, unsupported files).

    Raises:
        FileNotFoundError: A path that does not exist.
    """
    files: list[Path] = []
    folders: list[Path] = []
    unsupported: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if not path.exists():
            raise FileNotFoundError(f"{raw}: no such file or folder")
        if path.is_file():
            (files if path.suffix.lower() in SUPPORTED_SUFFIXES else unsupported).append(path)
            continue
        folders.append(path)
        for root, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                found = Path(root) / name
                (files if found.suffix.lower() in SUPPORTED_SUFFIXES else unsupported).append(found)
    return sorted(set(files)), folders, sorted(set(unsupported))


def _unsupported(path: Path) -> str:
    """Why ``path`` was skipped, naming the file like every parse failure does."""
    return (
        f"{path}: unsupported file type {path.suffix or '(no extension)'}; "
        f"crossrank ingest reads {', '.join(SUPPORTED_SUFFIXES)}"
    )


def split_document(doc: ParsedDocument, settings: RagSettings) -> list[str]:
    """Split a document into chunks with LangChain's recursive splitters (markdown-aware for .md)."""
    from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

    if doc.kind == "markdown":
        splitter = RecursiveCharacterTextSplitter.from_language(
            Language.MARKDOWN, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        )
    else:
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        )
    # A chunk with no letters or digits (a lone code fence, a table rule) carries nothing to find.
    return [chunk for chunk in splitter.split_text(doc.text) if any(ch.isalnum() for ch in chunk)]


def read_chunks(
    paths: Iterable[str | os.PathLike[str]], settings: RagSettings
) -> tuple[dict[str, str], list[str]]:
    """Every chunk of the supported files under ``paths``, split as ``ingest`` splits them.

    Returns ``({"<file>#<n>": chunk text}, [one message per skipped file])``: what
    ``crossrank adapt`` trains on and ``crossrank calibrate --questions`` retrieves from,
    without a vector store.

    Raises:
        FileNotFoundError: A path that does not exist.

    Example:
        ```python
        chunks, skipped = read_chunks(["docs/"], RagSettings())
        ```
    """
    files, _, unsupported = discover(paths)
    skipped = [_unsupported(path) for path in unsupported]
    chunks: dict[str, str] = {}
    for path in files:
        try:
            pieces = split_document(parse_file(path), settings)
        except ParseError as error:
            skipped.append(f"{path}: {error}")
            continue
        chunks.update({f"{path}#{i}": piece for i, piece in enumerate(pieces)})
    return chunks, skipped


def _fingerprint(path: Path, settings: RagSettings, embedder: Embedder) -> str:
    digest = hashlib.sha256(path.read_bytes())
    digest.update(f"|{settings.chunk_size}|{settings.chunk_overlap}|{embedder.name}".encode())
    return digest.hexdigest()


def _stored_files(store: ChunkStore) -> dict[str, tuple[str, int]]:
    """source -> (fingerprint, chunk count) of what is already in the collection."""
    stored: dict[str, tuple[str, int]] = {}
    for payload in store.scroll_payloads(["source", "content_hash", "chunk_count"]):
        stored.setdefault(
            str(payload["source"]), (str(payload.get("content_hash")), int(payload.get("chunk_count", 0)))
        )
    return stored


def _points(
    source: str, doc: ParsedDocument, chunks: list[str], fingerprint: str, embedder: Embedder
) -> list[Any]:
    # The title goes into the embedded text so a chunk is found by its document's topic too.
    vectors = embedder.embed([f"{doc.title}\n{chunk}" for chunk in chunks])
    return [
        models.PointStruct(
            id=point_id(source, i),
            vector={DENSE: vector, SPARSE: sparse_vector(f"{doc.title}\n{chunk}")},
            payload={
                "text": chunk,
                "source": source,
                "title": doc.title,
                "chunk_index": i,
                "chunk_count": len(chunks),
                "content_hash": fingerprint,
            },
        )
        for i, (chunk, vector) in enumerate(zip(chunks, vectors))
    ]


def _is_under(source: str, folders: Sequence[Path]) -> bool:
    return any(source.startswith(str(folder) + os.sep) for folder in folders)


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    settings: RagSettings | None = None,
    *,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
    show_progress: bool = True,
) -> IngestReport:
    """Ingest files and folders into the collection the settings name.

    Args:
        paths: Files and folders (walked recursively).
        settings: Store, collection, chunking and embedding settings (default: from the environment).
        store: An open store to reuse (default: ``open_store(settings)``).
        embedder: An embedder to reuse (default: the shared one for ``settings.embedding_model``).
        show_progress: Show a progress bar over files.

    Returns:
        An ``IngestReport``; parse failures are in it, not raised.

    Raises:
        FileNotFoundError: A path does not exist.
        QdrantUnavailableError: Qdrant cannot be reached or opened.
    """
    settings = settings or RagSettings()
    started = time.perf_counter()
    files, folders, unsupported = discover(paths)
    # The embedder loads before the store is opened: opening an embedded store creates
    # it on disk, and a run that fails on a bad embedding model should leave nothing behind.
    embedder = embedder or load_embedder(settings.embedding_model)
    store = store or open_store(settings)
    store.ensure_collection(embedder.dimension)
    stored = _stored_files(store)
    report = IngestReport(where=f"{store.where}, collection {store.collection!r}")
    report.files.extend(FileOutcome(str(p), "skipped", reason=_unsupported(p)) for p in unsupported)

    progress: Any = None
    if show_progress and files:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            TextColumn("Ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
        )
        progress.start()
    task = progress.add_task("", total=len(files)) if progress else None
    try:
        for path in files:
            source = str(path)
            if progress:
                progress.update(task, description=path.name)
            report.files.append(_ingest_file(path, source, settings, store, embedder, stored, report))
            if progress:
                progress.advance(task)
    finally:
        if progress:
            progress.stop()

    seen = {str(p) for p in files}
    for source in sorted(stored):
        if source not in seen and _is_under(source, folders) and not Path(source).exists():
            store.delete_source(source)
            report.files.append(FileOutcome(source, "deleted", reason="file no longer exists"))
    report.chunks_total = store.count()
    report.seconds = time.perf_counter() - started
    return report


def _ingest_file(
    path: Path,
    source: str,
    settings: RagSettings,
    store: ChunkStore,
    embedder: Embedder,
    stored: dict[str, tuple[str, int]],
    report: IngestReport,
) -> FileOutcome:
    try:
        fingerprint = _fingerprint(path, settings, embedder)
        previous = stored.get(source)
        if previous is not None and previous[0] == fingerprint:
            return FileOutcome(source, "unchanged", chunks=previous[1])
        doc = parse_file(path)
        chunks = split_document(doc, settings)
    except (ParseError, OSError) as exc:
        return FileOutcome(source, "failed", reason=str(exc))
    except Exception as exc:  # noqa: BLE001 -- a parser bug on one odd file must not stop the whole run
        return FileOutcome(source, "failed", reason=f"{path}: {type(exc).__name__}: {exc}")
    store.upsert(_points(source, doc, chunks, fingerprint, embedder))
    if previous is not None and previous[1] > len(chunks):
        store.delete_source(source, from_chunk=len(chunks))
    report.chunks_written += len(chunks)
    return FileOutcome(source, "updated" if previous is not None else "added", chunks=len(chunks))
