"""The whole evaluation (first stage, rerank, metrics, thresholds, report) with the tiny trained model, and a given run file as the first stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossrank.data import load_beir, save_trec_run
from crossrank.evaluation.evaluate import evaluate_dataset, first_stage_run
from crossrank.evaluation.report import write_report


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
    run = first_stage_run(
        data, {"q00": data.queries["q00"], "q01": data.queries["q01"]}, "run", 2, run_file=path
    )
    assert run == {"q00": {"neg0": 2.0, "pos0": 1.0}, "q01": {}}
    with pytest.raises(ValueError, match="needs a run file"):
        first_stage_run(data, data.queries, "run", 2)
