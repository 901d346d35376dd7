"""Reading a document file into a title and plain text: .txt, .md, .html/.htm, .pdf.

PDFs go through ``pypdf``, HTML through BeautifulSoup; text and markdown are read as
UTF-8. A file that cannot be read raises ``ParseError`` naming the file and the
cause, so ingestion can report it and go on with the rest.

Example:
    ```python
    import pathlib, tempfile
    path = pathlib.Path(tempfile.mkdtemp()) / "guide.md"
    _ = path.write_text("# Install guide\\n\\nRun pip install crossrank.")
    doc = parse_file(path)
    doc.title, doc.text.splitlines()[-1]
    # -> ('Install guide', 'Run pip install crossrank.')
    ```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")


class ParseError(ValueError):
    """A file could not be turned into text; the message names the file and why."""


@dataclass(frozen=True)
class ParsedDocument:
    """A file's title and text."""

    title: str
    text: str
    kind: str


def _read_utf8(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{path}: not valid UTF-8 text (byte {exc.start}); convert it to UTF-8") from exc


def _markdown(path: Path) -> ParsedDocument:
    text = _read_utf8(path)
    heading = re.search(r"^#\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE)
    return ParsedDocument(title=heading.group(1) if heading else path.stem, text=text, kind="markdown")


def _plain(path: Path) -> ParsedDocument:
    return ParsedDocument(title=path.stem, text=_read_utf8(path), kind="text")


def _html(path: Path) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_utf8(path), "html.parser")
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    if not title and soup.h1:
        title = soup.h1.get_text(strip=True)
    body = soup.body or soup
    text = body.get_text("\n", strip=True)
    return ParsedDocument(title=title or path.stem, text=text, kind="html")


def _pdf(path: Path) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ParseError(f"{path}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    return ParsedDocument(title=str(meta_title).strip() or path.stem, text="\n\n".join(pages), kind="pdf")


def parse_file(path: Path) -> ParsedDocument:
    """Read ``path`` into a ``ParsedDocument``.

    Raises:
        ParseError: Unsupported type, undecodable text, a broken PDF, or no text at all.
    """
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
        doc = _markdown(path)
    elif suffix == ".txt":
        doc = _plain(path)
    elif suffix in (".html", ".htm"):
        doc = _html(path)
    elif suffix == ".pdf":
        doc = _pdf(path)
    else:
        raise ParseError(
            f"{path}: unsupported file type {suffix or '(none)'}; supported: {SUPPORTED_SUFFIXES}"
        )
    if not doc.text.strip():
        raise ParseError(f"{path}: no text found (empty file, or a scanned PDF without a text layer)")
    return doc
