"""(query, passage, label) files in every format, and errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossrank.data import DatasetError, LabelledPair, load_pairs, pairs_to_beir


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("pairs.csv", "query,passage,label\nq,p,1\nq,p,maybe\n", r"pairs\.csv:3: label 'maybe' is not a number"),
        ("pairs.tsv", "query\tpassage\nq\tp\n", r"pairs\.tsv:2: no label column"),
        ("pairs.jsonl", '{"query": "q", "passage": "p", "label": 1}\n{"query": "q", "label": 0}\n',
         r"pairs\.jsonl:2: no passage column"),
        ("pairs.csv", "query,passage,label\nq,p,3\n", r"pairs\.csv:2: label 3.0 is outside \[0, 1\]"),
        ("pairs.txt", "q p 1\n", "unsupported extension"),
    ],
)  # fmt: skip
def test_bad_pairs_files_give_clear_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_pairs(path)


def test_pairs_files_load_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("qtext,label,atext\nwho?,1,him\n")
    (tmp_path / "b.tsv").write_text("question\ttext\tscore\nwho?\thim\t0\n")
    assert load_pairs(tmp_path / "a.csv")[0].passage == "him"
    assert load_pairs(tmp_path / "b.tsv")[0].label == 0.0


def test_pairs_group_into_a_dataset_by_query() -> None:
    data = pairs_to_beir(
        [LabelledPair("q", "yes", 1.0), LabelledPair("q", "no", 0.0), LabelledPair("r", "yes", 0.0)]
    )
    assert data.queries == {"q0": "q", "q1": "r"}
    assert data.qrels == {"q0": {"p0": 1, "p1": 0}, "q1": {"p0": 0}}
    assert data.passages() == {"p0": "yes", "p1": "no"}
