"""Labelled retrieval data: the one reader every layer above uses.

BEIR-layout folders (:func:`load_beir` -> :class:`BeirDataset`), (query, passage, label)
files (:func:`load_pairs`, :func:`pairs_to_beir`) and TREC run files
(:func:`load_trec_run`, :func:`save_trec_run`). Every reader raises :class:`DatasetError`
naming the file and the line.

Example:
    ```python
    from crossrank.data import load_beir

    data = load_beir("path/to/scifact", split="test")  # a BEIR download
    passages = data.passages()  # doc id -> "title. text"
    ```
"""

from crossrank.data.beir import (
    BeirDataset,
    DatasetError,
    Document,
    Qrels,
    Run,
    data_file,
    iter_jsonl,
    load_beir,
    load_corpus,
    load_qrels,
    load_queries,
    open_text,
)
from crossrank.data.pairs import LabelledPair, load_pairs, pairs_to_beir
from crossrank.data.runs import load_trec_run, save_trec_run

__all__ = [
    "BeirDataset",
    "DatasetError",
    "Document",
    "LabelledPair",
    "Qrels",
    "Run",
    "data_file",
    "iter_jsonl",
    "load_beir",
    "load_corpus",
    "load_pairs",
    "load_qrels",
    "load_queries",
    "load_trec_run",
    "open_text",
    "pairs_to_beir",
    "save_trec_run",
]
