"""The first stages (BM25, dense through Qdrant, hybrid fusion) on a tiny corpus written here."""

from __future__ import annotations

from pathlib import Path

from crossrank.evaluation.first_stage import bm25_run, dense_run, hybrid_run
from crossrank.retrieval.runs import top_k

PASSAGES = {
    "cats": "Cats purr when they are content and relaxed.",
    "dogs": "Dogs bark to warn their owners about strangers.",
    "stocks": "The stock market fell sharply on Monday morning.",
    "bread": "Bread is baked from flour, water, salt and yeast.",
}


QUERIES = {"q-cat": "why do cats purr", "q-bread": "how is bread baked", "q-none": "zzz qqq"}


def test_bm25_finds_the_matching_passage_and_skips_non_matches() -> None:
    run = bm25_run(PASSAGES, QUERIES, k=2)
    assert next(iter(top_k(run, 1)["q-cat"])) == "cats"
    assert next(iter(top_k(run, 1)["q-bread"])) == "bread"
    assert run["q-none"] == {}  # no shared term: nothing retrieved, not a zero-score filler
    assert all(type(s) is float for s in run["q-cat"].values())


def test_dense_retrieves_by_meaning_through_qdrant(tmp_path: Path) -> None:
    queries = {"q-kitten": "my kitten makes a rumbling sound", "q-finance": "shares dropped on wall street"}
    run = dense_run(PASSAGES, queries, k=2, qdrant_path=tmp_path / "qdrant")
    assert next(iter(top_k(run, 1)["q-kitten"])) == "cats"
    assert next(iter(top_k(run, 1)["q-finance"])) == "stocks"
    assert (tmp_path / "qdrant").is_dir()


def test_hybrid_fuses_by_rank() -> None:
    sparse = {"q": {"a": 10.0, "b": 5.0}}
    dense = {"q": {"c": 0.9, "a": 0.8}}
    fused = hybrid_run(sparse, dense, k=3)
    assert list(top_k(fused, 3)["q"]) == ["a", "c", "b"]  # a is ranked by both


def test_fusion_keeps_queries_only_one_run_answers() -> None:
    fused = hybrid_run(
        {"q": {"a": 2.0}, "only-sparse": {"x": 3.0, "y": 1.0}}, {"q": {"b": 0.5}, "only-sparse": {}}
    )
    assert list(fused["only-sparse"]) == ["x", "y"]
    assert set(fused["q"]) == {"a", "b"}
