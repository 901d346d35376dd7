"""Real uvicorn servers on 127.0.0.1 for the server tests.

Each server runs in a thread of the test process on a socket bound to a free port
(bound before uvicorn starts, so no race for the port). The model comes from the
``tiny_model_dir`` fixture; every server loads it through the per-process registry,
so it is in memory once however many servers a test starts.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from server_helpers import RunningServer, run_server, wait_ready

from crossrank.server import ServerSettings


@pytest.fixture(scope="session")
def server_settings(tiny_model_dir: str) -> ServerSettings:
    """Small limits so limit tests need small payloads.

    The exact torch engine, so responses can be compared with the ``scorer`` fixture to
    1e-4 (int8 scores move with batch composition, which the batcher decides); the
    default ``auto`` engine is what ``test_observability`` starts.
    """
    return ServerSettings(
        model=tiny_model_dir,
        backend="torch",
        device="cpu",
        max_batch_size=32,
        max_wait_ms=10,
        max_documents=50,
        max_document_chars=2_000,
        max_request_chars=20_000,
        max_query_chars=500,
        max_body_bytes=200_000,
        request_timeout_s=60,
    )


@pytest.fixture(scope="module")
def server(server_settings: ServerSettings) -> Iterator[RunningServer]:
    """A server that loads the tiny model itself (the production start-up path)."""
    with run_server(server_settings) as running:
        wait_ready(running.url)
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.fixture(scope="session")
def rag_corpus(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: str):
    """A few documents ingested into an embedded Qdrant; RagSettings that answer from them (extractive)."""
    from tiny_model import QA

    from crossrank.rag.ingest import ingest
    from crossrank.rag.settings import RagSettings

    root = tmp_path_factory.mktemp("rag")
    docs = root / "docs"
    docs.mkdir()
    for number, (_query, positive, negative) in enumerate(QA[:8]):
        (docs / f"answer{number}.txt").write_text(positive + "\n")
        (docs / f"other{number}.txt").write_text(negative + "\n")
    settings = RagSettings(
        qdrant_path=root / "qdrant",
        collection="server-tests",
        model=tiny_model_dir,
        device="cpu",
        generator="extractive",
        top_k=5,
        top_n=2,
        min_probability=0.5,
    )
    report = ingest([docs], settings, show_progress=False)
    assert not report.failed, report.summary()
    return settings
