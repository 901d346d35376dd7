"""Reading training data: BEIR folders and (query, passage, label) files.

Every reader raises :class:`TrainingDataError` naming the file and the line, because a
bad row deep in a 50 MB file is otherwise a needle in a haystack.

Example:
    ```python
    from crossrank.training.data import load_beir
    data = load_beir("data/squad", split="dev")
    len(data.queries), len(data.corpus)
    # -> (10570, 2067)
    ```
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from crossrank.evaluation.datasets import DatasetError, data_file, iter_jsonl, open_text

# One error type for every data file crossrank reads (training and evaluation share the readers).
TrainingDataError = DatasetError
"""A training file is missing, malformed or inconsistent; the message names file and line."""


@dataclass
class BeirData:
    """A BEIR-layout dataset: passages, queries and graded relevance judgements.

    Attributes:
        corpus: passage id -> passage text (title and text joined by ``". "`` when a title exists).
        queries: query id -> query text; only queries with at least one judgement are kept.
        qrels: query id -> {passage id: relevance grade}.
    """

    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)

    def subset(self, query_ids: list[str]) -> BeirData:
        """Keep only ``query_ids`` (the corpus is shared, not copied).

        Example:
            ```python
            d = BeirData({"d": "x"}, {"a": "q1", "b": "q2"}, {"a": {"d": 1}, "b": {"d": 1}})
            list(d.subset(["b"]).queries)
            # -> ['b']
            ```
        """
        keep = [q for q in query_ids if q in self.queries]
        return BeirData(self.corpus, {q: self.queries[q] for q in keep}, {q: self.qrels[q] for q in keep})


@dataclass(frozen=True)
class LabelledPair:
    """One (query, passage, label) training row; label 1.0 = relevant, 0.0 = not."""

    query: str
    passage: str
    label: float


def _require(row: dict[str, object], key: str, path: Path, line_no: int) -> str:
    value = row.get(key)
    if value is None:
        raise TrainingDataError(f"{path}, line {line_no}: missing field {key!r}")
    return str(value)


def load_corpus(path: Path) -> dict[str, str]:
    """Read a BEIR ``corpus.jsonl[.gz]`` into {id: "title. text"}.

    Example:
        ```python
        corpus = load_corpus(Path("data/scifact/corpus.jsonl.gz"))
        ```
    """
    corpus: dict[str, str] = {}
    for line_no, row in iter_jsonl(path):
        doc_id = _require(row, "_id", path, line_no)
        text = _require(row, "text", path, line_no)
        title = str(row.get("title") or "").strip()
        corpus[doc_id] = f"{title}. {text}" if title else text
    return corpus


def load_queries(path: Path) -> dict[str, str]:
    """Read a BEIR ``queries.jsonl[.gz]`` into {id: text}.

    Example:
        ```python
        queries = load_queries(Path("data/scifact/queries.jsonl"))
        ```
    """
    return {
        _require(row, "_id", path, line_no): _require(row, "text", path, line_no)
        for line_no, row in iter_jsonl(path)
    }


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Read a BEIR ``qrels/<split>.tsv`` (header line, then query-id, corpus-id, score).

    Example:
        ```python
        qrels = load_qrels(Path("data/scifact/qrels/test.tsv"))
        ```
    """
    qrels: dict[str, dict[str, int]] = {}
    with open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            parts = line.rstrip("\n").split("\t")
            if line_no == 1 and not parts[-1].lstrip("-").isdigit():
                continue  # header
            if not line.strip():
                continue
            if len(parts) < 3:
                raise TrainingDataError(
                    f"{path}, line {line_no}: expected 3 tab-separated columns (query-id, corpus-id, score), "
                    f"got {len(parts)}"
                )
            try:
                grade = int(float(parts[2]))
            except ValueError as error:
                raise TrainingDataError(f"{path}, line {line_no}: score {parts[2]!r} is not a number") from error
            qrels.setdefault(parts[0], {})[parts[1]] = grade
    return qrels


def load_beir(folder: str | Path, split: str = "train") -> BeirData:
    """Load a BEIR-layout folder, keeping the queries judged in ``split``.

    Judgements naming unknown passages or queries are errors: silently dropping them would
    train on a different set than the user thinks.

    Example:
        ```python
        data = load_beir("data/squad-v1.1-dev", split="dev")
        ```
    """
    root = Path(folder)
    if not root.is_dir():
        raise TrainingDataError(f"{root}: not a directory")
    corpus = load_corpus(data_file(root, "corpus.jsonl"))
    all_queries = load_queries(data_file(root, "queries.jsonl"))
    qrels_path = data_file(root / "qrels", f"{split}.tsv")
    qrels = load_qrels(qrels_path)
    for query_id, judged in qrels.items():
        if query_id not in all_queries:
            raise TrainingDataError(f"{qrels_path}: query id {query_id!r} is not in queries.jsonl")
        for doc_id in judged:
            if doc_id not in corpus:
                raise TrainingDataError(f"{qrels_path}: corpus id {doc_id!r} is not in corpus.jsonl")
    queries = {q: all_queries[q] for q in qrels}
    return BeirData(corpus=corpus, queries=queries, qrels=qrels)


_QUERY_KEYS = ("query", "question", "qtext", "sentence1")
_PASSAGE_KEYS = ("passage", "text", "document", "atext", "answer", "sentence2")
_LABEL_KEYS = ("label", "score", "relevance")


def _pick(row: dict[str, object], keys: tuple[str, ...], what: str, path: Path, line_no: int) -> object:
    for key in keys:
        if key in row and row[key] is not None:
            return row[key]
    raise TrainingDataError(f"{path}, line {line_no}: no {what} column (expected one of {', '.join(keys)})")


def _to_pair(row: dict[str, object], path: Path, line_no: int) -> LabelledPair:
    query = str(_pick(row, _QUERY_KEYS, "query", path, line_no))
    passage = str(_pick(row, _PASSAGE_KEYS, "passage", path, line_no))
    raw_label = _pick(row, _LABEL_KEYS, "label", path, line_no)
    try:
        label = float(raw_label)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise TrainingDataError(f"{path}, line {line_no}: label {raw_label!r} is not a number") from error
    if not 0.0 <= label <= 1.0:
        raise TrainingDataError(f"{path}, line {line_no}: label {label} is outside [0, 1]")
    return LabelledPair(query=query, passage=passage, label=label)


def load_pairs(path: str | Path) -> list[LabelledPair]:
    """Read (query, passage, label) rows from ``.jsonl``, ``.tsv`` or ``.csv`` (optionally ``.gz``).

    Columns are found by name (``query``/``question``/``qtext``, ``passage``/``text``/``atext``,
    ``label``/``score``); tsv/csv files need a header line.

    Example:
        ```python
        pairs = load_pairs("data/trecqa/train.csv")
        pairs[0].label
        # -> 1.0
        ```
    """
    file = Path(path)
    if not file.exists():
        raise TrainingDataError(f"{file}: file not found")
    suffixes = [s for s in file.suffixes if s != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    if kind == ".jsonl":
        return [_to_pair(row, file, line_no) for line_no, row in iter_jsonl(file)]
    if kind not in (".tsv", ".csv"):
        raise TrainingDataError(f"{file}: unsupported extension {kind!r} (use .jsonl, .tsv or .csv)")
    pairs: list[LabelledPair] = []
    with open_text(file) as handle:
        reader = csv.DictReader(handle, delimiter="\t" if kind == ".tsv" else ",")
        for row in reader:
            line_no = reader.line_num
            if None in row:
                raise TrainingDataError(f"{file}, line {line_no}: more columns than the header")
            pairs.append(_to_pair(dict(row), file, line_no))
    if not pairs:
        raise TrainingDataError(f"{file}: no rows found")
    return pairs


def pairs_to_beir(pairs: list[LabelledPair]) -> BeirData:
    """Group labelled pairs by query into a :class:`BeirData` (ids are made up; label > 0.5 = relevant).

    Answer-selection files (TrecQA, WikiQA) list a candidate set per question; this turns
    them into the same shape as a BEIR folder so mining and evaluation treat both alike.

    Example:
        ```python
        d = pairs_to_beir([LabelledPair("q", "yes", 1.0), LabelledPair("q", "no", 0.0)])
        d.qrels
        # -> {'q0': {'p0': 1, 'p1': 0}}
        ```
    """
    query_ids: dict[str, str] = {}
    passage_ids: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for pair in pairs:
        qid = query_ids.setdefault(pair.query, f"q{len(query_ids)}")
        pid = passage_ids.setdefault(pair.passage, f"p{len(passage_ids)}")
        qrels.setdefault(qid, {})[pid] = max(qrels.get(qid, {}).get(pid, 0), int(pair.label > 0.5))
    return BeirData(
        corpus={pid: text for text, pid in passage_ids.items()},
        queries={qid: text for text, qid in query_ids.items()},
        qrels=qrels,
    )
