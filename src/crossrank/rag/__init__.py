"""Retrieval-augmented answers with a relevance gate: ingest files into Qdrant, ask questions.

Example:
    ```python
    from crossrank.rag import RagPipeline, RagSettings, ingest
    settings = RagSettings(generator="extractive")
    ingest(["docs/"], settings).summary()
    RagPipeline.from_settings(settings).ask("How do I install crossrank?").verdict
    ```

Needs the ``rag`` extra (and ``generate`` for the local and API generators).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossrank.lazy import lazy_exports

if TYPE_CHECKING:
    from crossrank.rag.generate import (
        ApiGenerator,
        ExtractiveGenerator,
        GenerationError,
        LocalGenerator,
        Passage,
    )
    from crossrank.rag.ingest import IngestReport, ingest
    from crossrank.rag.pipeline import Answer, CandidateTrace, RagPipeline, Source, Trace
    from crossrank.rag.retrieve import Candidate, KeywordFallback, Retriever
    from crossrank.rag.settings import RagSettings
    from crossrank.rag.store import ChunkStore, QdrantUnavailableError, open_store

# Public name -> the module that defines it. Imported on first use, so that loading one
# submodule (``crossrank ask --help`` loads ``crossrank.rag.cli``) does not import Qdrant,
# transformers and the generators.
_EXPORTS: dict[str, str] = {
    "ApiGenerator": "crossrank.rag.generate",
    "ExtractiveGenerator": "crossrank.rag.generate",
    "GenerationError": "crossrank.rag.generate",
    "LocalGenerator": "crossrank.rag.generate",
    "Passage": "crossrank.rag.generate",
    "IngestReport": "crossrank.rag.ingest",
    "ingest": "crossrank.rag.ingest",
    "Answer": "crossrank.rag.pipeline",
    "CandidateTrace": "crossrank.rag.pipeline",
    "RagPipeline": "crossrank.rag.pipeline",
    "Source": "crossrank.rag.pipeline",
    "Trace": "crossrank.rag.pipeline",
    "Candidate": "crossrank.rag.retrieve",
    "KeywordFallback": "crossrank.rag.retrieve",
    "Retriever": "crossrank.rag.retrieve",
    "ChunkStore": "crossrank.rag.store",
    "QdrantUnavailableError": "crossrank.rag.store",
    "open_store": "crossrank.rag.store",
    "RagSettings": "crossrank.rag.settings",
}

__all__ = [
    "Answer",
    "ApiGenerator",
    "Candidate",
    "CandidateTrace",
    "ChunkStore",
    "ExtractiveGenerator",
    "GenerationError",
    "IngestReport",
    "KeywordFallback",
    "LocalGenerator",
    "Passage",
    "QdrantUnavailableError",
    "RagPipeline",
    "RagSettings",
    "Retriever",
    "Source",
    "Trace",
    "ingest",
    "open_store",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
