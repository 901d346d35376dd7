"""Ingestion into the embedded Qdrant: idempotent re-runs, changes, deletions, parse failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from crossrank.rag import QdrantUnavailableError, RagSettings, ingest, open_store
from crossrank.rag.parse import parse_file
from crossrank.rag.store import point_id


def minimal_pdf(text: str, title: str) -> bytes:
    """A one-page PDF with a text layer and a title.

    Written by hand because no PDF-writing library is a dependency and pypdf cannot
    lay out text; pypdf reads the result like any other PDF.
    """
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) >>".encode(),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stored(settings: RagSettings) -> dict[str, dict]:
    store = open_store(settings)
    return {f"{p['source']}#{p['chunk_index']}": p for p in store.scroll_payloads()}


def test_reingest_is_idempotent_and_follows_changes_and_deletions(
    rag_settings: RagSettings, docs_folder: Path
) -> None:
    long_file = docs_folder / "long.txt"
    long_file.write_text(
        "Spiders are arachnids with eight legs, and most of them spin silk webs.\n\n"
        "Whales are the largest mammals on Earth and breathe air through blowholes.\n\n"
        "Penguins live mostly in the Southern Hemisphere and cannot fly at all.\n",
        encoding="utf-8",
    )
    first = ingest([docs_folder], rag_settings, show_progress=False)
    assert first.count("added") == 5 and first.failed == []
    before = _stored(rag_settings)
    assert first.chunks_total == len(before) == first.chunks_written

    again = ingest([docs_folder], rag_settings, show_progress=False)
    assert again.count("unchanged") == 5 and again.chunks_written == 0
    assert _stored(rag_settings) == before  # same ids, same payloads, no duplicates

    # A file shrinks to one chunk: its chunk 0 is rewritten, its surplus chunks deleted.
    old_chunks = [k for k in before if k.startswith(str(long_file))]
    assert len(old_chunks) == 3
    long_file.write_text("Cows are herbivores that graze on grass and eat hay.\n", encoding="utf-8")
    (docs_folder / "space.html").unlink()
    changed = ingest([docs_folder], rag_settings, show_progress=False)
    statuses = {Path(f.source).name: f.status for f in changed.files}
    assert statuses == {
        "account.md": "unchanged",
        "news.txt": "unchanged",
        "animals.txt": "unchanged",
        "long.txt": "updated",
        "space.html": "deleted",
    }

    after = _stored(rag_settings)
    assert [k for k in after if k.startswith(str(long_file))] == [f"{long_file}#0"]
    assert after[f"{long_file}#0"]["text"].startswith("Cows") and after[f"{long_file}#0"]["chunk_count"] == 1
    assert not any("space.html" in k for k in after)
    assert changed.chunks_total == len(after)
    store = open_store(rag_settings)
    ids = {str(p.id) for p in store.client.scroll(store.collection, limit=100)[0]}
    assert point_id(str(long_file), 0) in ids and point_id(str(long_file), 1) not in ids


def test_unparseable_files_are_reported_and_skipped_while_the_rest_is_ingested(
    rag_settings: RagSettings, docs_folder: Path
) -> None:
    (docs_folder / "broken.pdf").write_bytes(b"this is not a PDF")
    (docs_folder / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (docs_folder / "empty.md").write_text("   \n", encoding="utf-8")
    (docs_folder / "slides.pptx").write_bytes(b"PK\x03\x04")
    (docs_folder / "fast.pdf").write_bytes(
        minimal_pdf("Cheetahs can sprint at up to 110 km per hour.", "Fast cats")
    )

    report = ingest([docs_folder], rag_settings, show_progress=False)

    outcome = {Path(f.source).name: f for f in report.files}
    assert {name for name, f in outcome.items() if f.status == "added"} == {
        "account.md",
        "animals.txt",
        "space.html",
        "news.txt",
        "fast.pdf",
    }
    assert "not a readable PDF" in outcome["broken.pdf"].reason and outcome["broken.pdf"].status == "failed"
    assert "not valid UTF-8" in outcome["latin1.txt"].reason
    assert "no text found" in outcome["empty.md"].reason
    assert outcome["slides.pptx"].status == "skipped" and ".pptx" in outcome["slides.pptx"].reason
    assert "3 failed" in report.summary() and "1 skipped" in report.summary()

    stored = _stored(rag_settings)
    sources = {Path(p["source"]).name for p in stored.values()}
    assert sources == {"account.md", "animals.txt", "space.html", "news.txt", "fast.pdf"}
    pdf_chunk = next(p for p in stored.values() if p["source"].endswith("fast.pdf"))
    assert pdf_chunk["title"] == "Fast cats" and "Cheetahs" in pdf_chunk["text"]


def test_html_is_read_without_scripts_and_titled(docs_folder: Path) -> None:
    doc = parse_file(docs_folder / "space.html")
    assert doc.title == "Space facts"
    assert "black hole" in doc.text and "hidden" not in doc.text


def test_a_missing_path_is_an_error_naming_it(rag_settings: RagSettings, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        ingest([tmp_path / "nope"], rag_settings, show_progress=False)


def test_a_qdrant_url_that_does_not_answer_fails_fast_and_clearly(
    rag_settings: RagSettings, docs_folder: Path, closed_port: int
) -> None:
    settings = rag_settings.model_copy(
        update={"qdrant_url": f"http://127.0.0.1:{closed_port}", "qdrant_timeout_s": 2.0}
    )
    started = time.perf_counter()
    with pytest.raises(QdrantUnavailableError) as caught:
        ingest([docs_folder], settings, show_progress=False)
    elapsed = time.perf_counter() - started

    message = str(caught.value)
    assert f"127.0.0.1:{closed_port}" in message and "did not answer" in message and "--qdrant-url" in message
    assert elapsed < 20, f"took {elapsed:.1f} s"  # the requirement: an error within seconds, not a hang


def test_chunks_without_any_letters_or_digits_are_not_stored(rag_settings: RagSettings) -> None:
    from crossrank.rag.ingest import split_document
    from crossrank.rag.parse import ParsedDocument

    text = "# Setup\n\n" + "Install it with pip and run the ingest command on a folder. " * 2 + "\n\n```\n\n---\n\n```\n"
    chunks = split_document(ParsedDocument("Setup", text, "markdown"), rag_settings)
    assert chunks and all(any(ch.isalnum() for ch in chunk) for chunk in chunks)
    assert "pip" in " ".join(chunks)
