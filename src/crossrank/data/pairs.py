"""Labelled (query, passage, label) files: ``.jsonl``, ``.tsv`` or ``.csv``, optionally gzipped.

Answer-selection sets (TrecQA, WikiQA, SelQA) ship this way; :func:`pairs_to_beir` turns them
into a :class:`~crossrank.data.BeirDataset` so mining, training and evaluation treat both alike.

Example:
    ```python
    from crossrank.data import load_pairs, pairs_to_beir

    data = pairs_to_beir(load_pairs("trecqa/train.csv"))
    ```
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from crossrank.data.beir import BeirDataset, DatasetError, iter_jsonl, open_text


@dataclass(frozen=True)
class LabelledPair:
    """One (query, passage, label) training row; label 1.0 = relevant, 0.0 = not."""

    query: str
    passage: str
    label: float


_QUERY_KEYS = ("query", "question", "qtext", "sentence1")
_PASSAGE_KEYS = ("passage", "text", "document", "atext", "answer", "sentence2")
_LABEL_KEYS = ("label", "score", "relevance")


def _pick(row: dict[str, object], keys: tuple[str, ...], what: str, path: Path, line_no: int) -> object:
    for key in keys:
        if key in row and row[key] is not None:
            return row[key]
    raise DatasetError(f"{path}:{line_no}: no {what} column (expected one of {', '.join(keys)})")


def _to_pair(row: dict[str, object], path: Path, line_no: int) -> LabelledPair:
    query = str(_pick(row, _QUERY_KEYS, "query", path, line_no))
    passage = str(_pick(row, _PASSAGE_KEYS, "passage", path, line_no))
    raw_label = _pick(row, _LABEL_KEYS, "label", path, line_no)
    try:
        label = float(raw_label)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise DatasetError(f"{path}:{line_no}: label {raw_label!r} is not a number") from error
    if not 0.0 <= label <= 1.0:
        raise DatasetError(f"{path}:{line_no}: label {label} is outside [0, 1]")
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
        raise DatasetError(f"{file}: file not found")
    suffixes = [s for s in file.suffixes if s != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    if kind == ".jsonl":
        return [_to_pair(row, file, line_no) for line_no, row in iter_jsonl(file)]
    if kind not in (".tsv", ".csv"):
        raise DatasetError(f"{file}: unsupported extension {kind!r} (use .jsonl, .tsv or .csv)")
    pairs: list[LabelledPair] = []
    with open_text(file) as handle:
        reader = csv.DictReader(handle, delimiter="\t" if kind == ".tsv" else ",")
        for row in reader:
            line_no = reader.line_num
            if None in row:
                raise DatasetError(f"{file}:{line_no}: more columns than the header")
            pairs.append(_to_pair(dict(row), file, line_no))
    if not pairs:
        raise DatasetError(f"{file}: no rows found")
    return pairs


def pairs_to_beir(pairs: list[LabelledPair]) -> BeirDataset:
    """Group labelled pairs by query into a :class:`BeirDataset` (ids are made up; label > 0.5 = relevant).

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
    return BeirDataset.from_texts(
        corpus={pid: text for text, pid in passage_ids.items()},
        queries={qid: text for text, qid in query_ids.items()},
        qrels=qrels,
    )
