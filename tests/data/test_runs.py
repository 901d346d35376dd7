"""TREC run files: round trip, and errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossrank.data import DatasetError, load_trec_run, save_trec_run


def test_trec_run_round_trip(tmp_path: Path) -> None:
    run = {"q1": {"d1": 0.5, "d2": 2.0}, "q2": {"d3": 1.0}}
    path = save_trec_run(run, tmp_path / "x.run", tag="t")
    assert path.read_text().splitlines()[0] == "q1 Q0 d2 1 2.000000 t"
    assert load_trec_run(path) == run


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("q1 Q0 d1 1 0.5\n", r"x.run:1: expected 6 columns"),
        ("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 two 0.4 t\n", r"x.run:2: rank 'two'"),
        ("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n", r"x.run:2: document 'd1' appears twice"),
    ],
)
def test_bad_trec_run(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "x.run").write_text(content)
    with pytest.raises(DatasetError, match=expected):
        load_trec_run(tmp_path / "x.run")
