"""``crossrank bench``'s machinery (crossrank.evaluation.speed): the cost curve on a tiny grid with its table and a real PNG, and the headline that never times a baseline it cannot load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import crossrank
from crossrank.evaluation.cli import SAMPLE_DATA
from crossrank.evaluation.speed import compare, curve, curve_markdown, cut_passages, markdown, plot_curve


def test_cut_passages_have_the_exact_token_count(tiny_model_dir: str) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    texts = ["Paris is the capital and largest city of France, on the Seine."] * 3
    pieces = cut_passages(tokenizer, texts, 8, 5)
    assert len(pieces) == 5
    assert all(len(tokenizer(p, add_special_tokens=False)["input_ids"]) == 8 for p in pieces)


def test_curve_on_a_tiny_grid_gives_every_row_and_a_png(tiny_model_dir: str, tmp_path: Path) -> None:
    report = curve(
        tiny_model_dir, SAMPLE_DATA, engines=["default", "predict"], candidates=[2, 4], lengths=[16, 32],
        fixed_length=16, fixed_candidates=2, repeats=1, isolated=False,
    )  # fmt: skip
    assert [r["engine"] for r in report["results"]] == ["default", "predict"], report["skipped"]
    for result in report["results"]:
        points = [(row["axis"], row["candidates"], row["tokens"]) for row in result["rows"]]
        assert points == [("candidates", 2, 16), ("candidates", 4, 16), ("length", 2, 16), ("length", 2, 32)]
        assert all(row["p50_ms"] > 0 for row in result["rows"]) and result["peak_rss_mb"] > 0
    table = curve_markdown(report)
    assert table.count("\n| candidates |") == 2 and table.count("\n| length |") == 2
    png = plot_curve(report, tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000


@pytest.mark.slow
def test_bench_quick_with_curve_writes_the_plot_and_says_what_it_left_out(
    tiny_model_dir: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from crossrank.cli import app

    out, plot = tmp_path / "bench.json", tmp_path / "curve.png"
    result = CliRunner().invoke(
        app, ["bench", "--quick", "--curve", "--model", tiny_model_dir, "--backend", "torch", "--plot", str(plot),
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.with_suffix(".curve.json").read_text())
    ran = [r["engine"] for r in report["results"]]
    assert ran[:3] == [
        "default",
        "torch",
        "predict",
    ]  # a standard cross-encoder: predict runs on the model itself
    assert set(ran) | set(report["skipped"]) == {"default", "torch", "predict", "flashrank"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_late_interaction_default_skips_the_predict_baseline_and_says_why(shipped_model_dir: str) -> None:
    sample = Path(crossrank.__file__).parent / "sample_data"
    report = compare(
        shipped_model_dir, sample, queries=1, candidates=2, engines=("baseline", "crossrank"), isolated=False
    )
    assert [r["engine"] for r in report["results"]] == ["crossrank"]
    assert "speedup" not in report
    assert "cannot load crossrank's late-interaction model format" in report["baseline_skipped"]
    assert report["baseline_skipped"] in markdown(report)
