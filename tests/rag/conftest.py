"""Fixtures for the RAG tests: a small real document folder and settings over the embedded Qdrant."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from crossrank.rag.settings import RagSettings

# Passages the tiny test model was trained on as relevant answers (tests/tiny_model.py),
# spread over files of every supported text type.
DOCS = {
    "account.md": "# Account help\n\n"
    "Click on 'Forgot Password' on the login screen and follow the emailed link.\n\n"
    "To cancel your subscription open Account Settings and choose Cancel plan.\n",
    "animals.txt": "Giant pandas eat almost nothing but bamboo shoots and leaves.\n\n"
    "Cheetahs can sprint at up to 110 kilometres per hour.\n",
    "space.html": "<html><head><title>Space facts</title><script>var x = 'hidden';</script></head><body>"
    "<h1>Space</h1><p>A black hole is a region of spacetime where gravity is so strong nothing escapes.</p>"
    "<p>Apollo 11 landed on the Moon on 20 July 1969.</p></body></html>",
    # passages the tiny model learned as irrelevant; they share words with off-topic questions
    "news.txt": "The stock market fell sharply on Monday.\n\nOur office is closed on public holidays.\n",
}


@pytest.fixture
def docs_folder(tmp_path: Path) -> Path:
    """A folder of small real documents (markdown, text, HTML)."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def rag_settings(tmp_path: Path, tiny_model_dir: str, monkeypatch: pytest.MonkeyPatch) -> RagSettings:
    """Embedded Qdrant in tmp_path, the tiny reranker, extractive answers, one passage per chunk."""
    for name in list(__import__("os").environ):
        if name.startswith("CROSSRANK_"):
            monkeypatch.delenv(name)
    return RagSettings(
        qdrant_path=tmp_path / "qdrant",
        model=tiny_model_dir,
        device="cpu",
        generator="extractive",
        min_probability=0.5,
        weak_min_probability=0.2,
        chunk_size=120,
        chunk_overlap=0,
        top_k=10,
        top_n=3,
    )


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
