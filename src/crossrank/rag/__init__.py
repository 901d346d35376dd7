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

from crossrank.rag.generate import ApiGenerator, ExtractiveGenerator, GenerationError, LocalGenerator, Passage
from crossrank.rag.ingest import IngestReport, ingest
from crossrank.rag.pipeline import Answer, CandidateTrace, RagPipeline, Source, Trace
from crossrank.rag.retrieve import Candidate, KeywordFallback, Retriever
from crossrank.rag.store import ChunkStore, QdrantUnavailableError, open_store
from crossrank.settings import RagSettings

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
