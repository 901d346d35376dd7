"""BEIR loading: what loads, and errors that name the file and line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from tiny_model import QA

from crossrank.data import BeirDataset, DatasetError, load_beir


def test_loads_beir_layout(beir_dir: Path) -> None:
    data = load_beir(beir_dir, "test")
    assert len(data.corpus) == 2 * len(QA)
    assert len(data.queries) == len(QA)
    assert data.qrels["q03"] == {"pos3": 1}
    assert data.passages()["pos0"] == QA[0][1]
    assert data.unjudged_queries == 0


def test_gzipped_corpus_and_title(beir_dir: Path) -> None:
    lines = (beir_dir / "corpus.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({**first, "title": "Passwords"})
    with gzip.open(beir_dir / "corpus.jsonl.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    (beir_dir / "corpus.jsonl").unlink()
    assert load_beir(beir_dir).passages()["pos0"] == f"Passwords. {QA[0][1]}"


def test_queries_without_judgements_are_counted_not_evaluated(beir_dir: Path) -> None:
    qrels = beir_dir / "qrels" / "test.tsv"
    qrels.write_text("\n".join(qrels.read_text().splitlines()[:3]) + "\n")  # header + 2 judgements
    data = load_beir(beir_dir)
    assert sorted(data.queries) == ["q00", "q01"]
    assert data.unjudged_queries == len(QA) - 2


@pytest.mark.parametrize(
    ("target", "content", "expected"),
    [
        (
            "corpus.jsonl",
            '{"_id": "a", "text": "ok"}\n{"_id": "b", "text": \n',
            r"corpus.jsonl:2: not valid JSON",
        ),
        (
            "corpus.jsonl",
            '{"_id": "a", "text": "ok"}\n{"text": "no id"}\n',
            r"corpus.jsonl:2: missing field '_id'",
        ),
        (
            "corpus.jsonl",
            '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n',
            r"corpus.jsonl:2: duplicate",
        ),
        ("queries.jsonl", '{"_id": "q00", "text": ""}\n', r"queries.jsonl:1: query 'q00' has empty text"),
        (
            "qrels/test.tsv",
            "query-id\tcorpus-id\tscore\nq00\tpos0\n",
            r"test.tsv:2: expected 3 tab-separated",
        ),
        ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq00\tpos0\thigh\n", r"test.tsv:2: score 'high'"),
        (
            "qrels/test.tsv",
            "query-id\tcorpus-id\tscore\nq00\tpos0\t1\nq00\tnope\t1\n",
            r"test.tsv:3: document id 'nope'",
        ),
        ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq99\tpos0\t1\n", r"test.tsv:2: query id 'q99'"),
    ],
)
def test_bad_input_names_file_and_line(beir_dir: Path, target: str, content: str, expected: str) -> None:
    (beir_dir / target).write_text(content)
    with pytest.raises(DatasetError, match=expected):
        load_beir(beir_dir)


def test_missing_split_lists_available(beir_dir: Path) -> None:
    with pytest.raises(DatasetError, match=r"dev.tsv: no such split; available splits: \['test'\]"):
        load_beir(beir_dir, "dev")


def test_missing_file_is_named(beir_dir: Path) -> None:
    (beir_dir / "queries.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"no queries.jsonl or queries.jsonl.gz"):
        load_beir(beir_dir)


def test_any_non_numeric_header_is_skipped(beir_dir: Path) -> None:
    qrels = beir_dir / "qrels" / "test.tsv"
    qrels.write_text("query\tdoc\trelevance\nq00\tpos0\t1\n")
    assert load_beir(beir_dir).qrels == {"q00": {"pos0": 1}}


def test_subset_and_in_memory_datasets() -> None:
    data = BeirDataset.from_texts({"a": "cats purr", "b": "dogs bark"}, {"q1": "cats", "q2": "dogs"},
                                  {"q1": {"a": 1}, "q2": {"b": 1}})  # fmt: skip
    part = data.subset(["q2", "unknown"])
    assert part.queries == {"q2": "dogs"}
    assert part.qrels == {"q2": {"b": 1}}
    assert part.passages() == {"a": "cats purr", "b": "dogs bark"}
    assert data.queries == {"q1": "cats", "q2": "dogs"}  # the original is untouched
