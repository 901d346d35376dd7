"""Hard-negative mining (crossrank.training.mining) on tiny data written here."""

from __future__ import annotations

import pytest

from crossrank.data import BeirDataset
from crossrank.training import mine_bm25_negatives


def test_mining_never_returns_judged_passages() -> None:
    corpus = {f"p{i}": f"solar panel energy report number {i}" for i in range(20)}
    data = BeirDataset.from_texts(corpus, {"q": "solar panel energy"}, {"q": {"p1": 1, "p2": 2, "p3": 0}})
    negatives = mine_bm25_negatives(data, num_negatives=10, depth=20)["q"]
    assert len(negatives) == 10
    assert not {"p1", "p2", "p3"} & set(negatives)


def test_mining_bounds_are_validated() -> None:
    with pytest.raises(ValueError, match="depth"):
        mine_bm25_negatives(BeirDataset.from_texts({}, {}, {}), num_negatives=1, depth=0)
