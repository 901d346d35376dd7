"""First stages on a tiny corpus written here, and the full evaluation with the tiny trained model."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossrank.data import load_beir, save_trec_run
from crossrank.evaluation.evaluate import evaluate_dataset, first_stage_run
from crossrank.evaluation.first_stage import bm25_run, dense_run, hybrid_run
from crossrank.evaluation.report import write_report
from crossrank.evaluation.rerank import top_k

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


def test_evaluation_end_to_end(scorer, beir_dir: Path, tmp_path: Path) -> None:
    data = load_beir(beir_dir)
    result = evaluate_dataset(scorer, data, "bm25", top_k_candidates=5)
    bm25, reranked = result.table.scores["bm25"], result.table.scores["reranked"]
    # The tiny model ranks each query's own passage first among all 40, so whenever BM25
    # retrieved it, reranking puts it on top: MRR rises to recall@5 and recall is unchanged.
    assert reranked["recall@10"] == pytest.approx(bm25["recall@10"])
    assert reranked["mrr@10"] == pytest.approx(bm25["recall@10"])
    assert reranked["mrr@10"] >= bm25["mrr@10"]
    assert set(result.runs) == {"bm25", "reranked", "fused (rrf)"}
    assert result.summary["pairs_reranked"] == sum(len(d) for d in result.runs["bm25"].values())
    assert result.thresholds is not None and result.thresholds.relevant_tops > 0
    files = write_report(tmp_path / "out", result.summary, result.table, result.thresholds, result.baseline)
    assert {p.name for p in files.values()} == {"results.json", "report.md", "metrics.png", "thresholds.png"}
    assert files["metrics_plot"].read_bytes()[:4] == b"\x89PNG"
    assert "| reranked |" in files["markdown"].read_text()


def test_run_file_first_stage(beir_dir: Path, tmp_path: Path) -> None:
    data = load_beir(beir_dir)
    path = save_trec_run({"q00": {"neg0": 2.0, "pos0": 1.0, "pos1": 0.5}}, tmp_path / "given.run")
    run = first_stage_run(data, {"q00": data.queries["q00"], "q01": data.queries["q01"]}, "run", 2, run_file=path)
    assert run == {"q00": {"neg0": 2.0, "pos0": 1.0}, "q01": {}}
    with pytest.raises(ValueError, match="needs a run file"):
        first_stage_run(data, data.queries, "run", 2)


def test_fusion_keeps_queries_only_one_run_answers() -> None:
    fused = hybrid_run({"q": {"a": 2.0}, "only-sparse": {"x": 3.0, "y": 1.0}}, {"q": {"b": 0.5}, "only-sparse": {}})
    assert list(fused["only-sparse"]) == ["x", "y"]
    assert set(fused["q"]) == {"a", "b"}
