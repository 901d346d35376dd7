"""BEIR-layout datasets: the one reader evaluation, training, benchmarks and the model recipe use.

BEIR layout (the format of most public retrieval sets, and of the sample bundled in
``crossrank/sample_data``)::

    my-dataset/
      corpus.jsonl[.gz]     {"_id": ..., "title": ..., "text": ...} per line
      queries.jsonl[.gz]    {"_id": ..., "text": ...} per line
      qrels/<split>.tsv     query-id <tab> corpus-id <tab> score, with a header line

Every parsing error names the file and the line, and nothing is skipped silently: a
qrel pointing at an unknown query or document is an error.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

Run = dict[str, dict[str, float]]
"""query id -> {doc id: score}; higher is better."""

Qrels = dict[str, dict[str, int]]
"""query id -> {doc id: relevance grade}; grade > 0 means relevant."""


class DatasetError(ValueError):
    """A dataset or run file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Document:
    """One corpus entry.

    Example:
        ```python
        Document(title="Paris", text="Paris is the capital of France.").passage
        # -> 'Paris. Paris is the capital of France.'
        ```
    """

    title: str
    text: str

    @property
    def passage(self) -> str:
        """Title and text as one passage, the form rerankers and retrievers see."""
        if self.title and self.text:
            return f"{self.title}. {self.text}"
        return self.title or self.text


@dataclass(frozen=True)
class BeirDataset:
    """A corpus, its queries and the relevance judgements of one split.

    Attributes:
        name: The dataset folder's name.
        split: The qrels split loaded (``test``, ``dev``, ...).
        corpus: doc id -> ``Document``.
        queries: query id -> text, only the queries judged in this split.
        qrels: query id -> {doc id: grade}.
        unjudged_queries: How many queries in queries.jsonl have no judgement in this split.
    """

    name: str
    split: str
    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: Qrels
    unjudged_queries: int = 0
    path: Path = field(default=Path("."))

    def passages(self) -> dict[str, str]:
        """doc id -> passage text (title and text), the form rerankers, retrievers and training see."""
        return {doc_id: doc.passage for doc_id, doc in self.corpus.items()}

    def subset(self, query_ids: Iterable[str]) -> BeirDataset:
        """Only the queries in ``query_ids`` (and their judgements); the corpus is shared, not copied.

        Example:
            ```python
            data = BeirDataset.from_texts({"d": "x"}, {"a": "q1", "b": "q2"}, {"a": {"d": 1}, "b": {"d": 1}})
            list(data.subset(["b"]).queries)
            # -> ['b']
            ```
        """
        keep = [q for q in query_ids if q in self.queries]
        return replace(
            self,
            queries={q: self.queries[q] for q in keep},
            qrels={q: self.qrels[q] for q in keep if q in self.qrels},
            unjudged_queries=0,
        )

    @classmethod
    def from_texts(
        cls,
        corpus: Mapping[str, str],
        queries: Mapping[str, str],
        qrels: Mapping[str, Mapping[str, int]],
        name: str = "",
        split: str = "",
    ) -> BeirDataset:
        """A dataset built in memory from passage texts (no titles).

        Example:
            ```python
            data = BeirDataset.from_texts({"a": "cats purr"}, {"q": "cats"}, {"q": {"a": 1}})
            data.passages()
            # -> {'a': 'cats purr'}
            ```
        """
        return cls(
            name=name,
            split=split,
            corpus={doc_id: Document(title="", text=text) for doc_id, text in corpus.items()},
            queries=dict(queries),
            qrels={q: dict(judged) for q, judged in qrels.items()},
        )


def open_text(path: Path) -> IO[str]:
    """Open a text file for reading, gunzipping ``.gz`` files."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def data_file(folder: Path, stem: str) -> Path:
    """`folder/stem` or `folder/stem.gz`, whichever exists."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(
        f"{folder}: no {stem} or {stem}.gz; a BEIR dataset folder needs both corpus and queries"
    )


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    """(line number, object) for each non-blank line of a JSONL file; errors name file and line."""
    with open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{line_no}: expected a JSON object, got {type(record).__name__}")
            yield line_no, record


def _string_field(record: Mapping[str, object], key: str, path: Path, line_no: int, required: bool) -> str:
    value = record.get(key)
    if value is None:
        if required:
            raise DatasetError(f"{path}:{line_no}: missing field {key!r}")
        return ""
    if isinstance(value, (int, float)) and key == "_id":
        return str(value)
    if not isinstance(value, str):
        raise DatasetError(f"{path}:{line_no}: field {key!r} must be a string, got {type(value).__name__}")
    return value


def load_corpus(path: str | Path) -> dict[str, Document]:
    """Read ``corpus.jsonl[.gz]`` into doc id -> ``Document``.

    Example:
        ```python
        corpus = load_corpus("my-dataset/corpus.jsonl")
        ```
    """
    path = Path(path)
    corpus: dict[str, Document] = {}
    for line_no, record in iter_jsonl(path):
        doc_id = _string_field(record, "_id", path, line_no, required=True)
        if doc_id in corpus:
            raise DatasetError(f"{path}:{line_no}: duplicate document id {doc_id!r}")
        title = _string_field(record, "title", path, line_no, required=False)
        text = _string_field(record, "text", path, line_no, required=False)
        if not (title.strip() or text.strip()):
            raise DatasetError(f"{path}:{line_no}: document {doc_id!r} has neither title nor text")
        corpus[doc_id] = Document(title=title, text=text)
    if not corpus:
        raise DatasetError(f"{path}: the corpus is empty")
    return corpus


def load_queries(path: str | Path) -> dict[str, str]:
    """Read ``queries.jsonl[.gz]`` into query id -> text."""
    path = Path(path)
    queries: dict[str, str] = {}
    for line_no, record in iter_jsonl(path):
        query_id = _string_field(record, "_id", path, line_no, required=True)
        if query_id in queries:
            raise DatasetError(f"{path}:{line_no}: duplicate query id {query_id!r}")
        text = _string_field(record, "text", path, line_no, required=True)
        if not text.strip():
            raise DatasetError(f"{path}:{line_no}: query {query_id!r} has empty text")
        queries[query_id] = text
    return queries


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _qrel_lines(path: Path) -> Iterator[tuple[int, str, str, int]]:
    """(line number, query id, doc id, grade) for each judgement line of a qrels TSV."""
    if not path.is_file():
        raise DatasetError(f"{path}: qrels file not found")
    with open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if line_no == 1 and (
                parts[0].strip().lower() in {"query-id", "query_id", "qid"} or not _is_number(parts[-1])
            ):
                continue  # header
            if len(parts) != 3:
                raise DatasetError(
                    f"{path}:{line_no}: expected 3 tab-separated columns (query-id, corpus-id, score), "
                    f"got {len(parts)}: {line.strip()!r:.80}"
                )
            query_id, doc_id, grade = (p.strip() for p in parts)
            try:
                relevance = int(float(grade))
            except ValueError:
                raise DatasetError(f"{path}:{line_no}: score {grade!r} is not a number") from None
            yield line_no, query_id, doc_id, relevance


def load_qrels(path: str | Path) -> Qrels:
    """Read a BEIR qrels TSV (``query-id  corpus-id  score``, header line optional).

    Example:
        ```python
        qrels = load_qrels("my-dataset/qrels/test.tsv")
        ```
    """
    path = Path(path)
    qrels: Qrels = {}
    for _, query_id, doc_id, relevance in _qrel_lines(path):
        qrels.setdefault(query_id, {})[doc_id] = relevance
    if not qrels:
        raise DatasetError(f"{path}: no judgements")
    return qrels


def load_beir(path: str | Path, split: str = "test") -> BeirDataset:
    """Load a BEIR-layout dataset folder and one qrels split.

    Only queries judged in ``split`` are kept (that is what gets evaluated); a
    judgement naming a query or a document that does not exist is an error.

    Args:
        path: The dataset folder (holding corpus.jsonl[.gz], queries.jsonl[.gz], qrels/).
        split: The qrels file to use, ``qrels/<split>.tsv``.

    Raises:
        DatasetError: Missing files or malformed lines (naming file and line).

    Example:
        ```python
        data = load_beir("path/to/scifact", split="test")  # a BEIR download
        len(data.queries), len(data.corpus)
        # -> (300, 5183)
        ```
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a directory; pass a BEIR dataset folder")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = (
            sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        )
        raise DatasetError(f"{qrels_path}: no such split; available splits: {available or 'none'}")
    corpus = load_corpus(data_file(folder, "corpus.jsonl"))
    all_queries = load_queries(data_file(folder, "queries.jsonl"))
    qrels: Qrels = {}
    for line_no, query_id, doc_id, relevance in _qrel_lines(qrels_path):
        if query_id not in all_queries:
            raise DatasetError(f"{qrels_path}:{line_no}: query id {query_id!r} is not in queries.jsonl")
        if doc_id not in corpus:
            raise DatasetError(f"{qrels_path}:{line_no}: document id {doc_id!r} is not in the corpus")
        qrels.setdefault(query_id, {})[doc_id] = relevance
    if not qrels:
        raise DatasetError(f"{qrels_path}: no judgements")
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels}
    return BeirDataset(
        name=folder.resolve().name,
        split=split,
        corpus=corpus,
        queries=queries,
        qrels=qrels,
        unjudged_queries=len(all_queries) - len(queries),
        path=folder,
    )
