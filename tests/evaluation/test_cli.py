"""``crossrank eval``, ``calibrate`` and ``bench`` through typer's CliRunner, on a dataset written by the test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cli_helpers import error_line
from typer.testing import CliRunner

from crossrank.cli import app

runner = CliRunner()


def flat(text: str) -> str:
    """Text without whitespace or rich's box drawing, so wrapped error panels can be searched."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in "│╭╮╰╯─")


def test_eval_writes_reports(tiny_model_dir: str, beir_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    result = runner.invoke(
        app, ["eval", str(beir_dir), "--model", tiny_model_dir, "--top-k", "5", "--max-queries", "6", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    assert data["queries"] == 6 and data["first_stage"] == "bm25"
    assert set(data["metrics"]["scores"]) == {"bm25", "reranked", "fused (rrf)"}
    assert data["thresholds"]["rows"][0]["threshold"] == 0.0
    assert (out / "reranked.run").read_text().count("\n") == data["pairs_reranked"]
    assert "reranked" in result.output


def test_eval_bad_dataset_names_file_and_line(tiny_model_dir: str, beir_dir: Path) -> None:
    (beir_dir / "queries.jsonl").write_text('{"_id": "q00", "text": "ok"}\nnot json\n')
    result = runner.invoke(app, ["eval", str(beir_dir), "--model", tiny_model_dir])
    assert result.exit_code != 0
    assert flat("queries.jsonl:2: not valid JSON") in flat(result.output)


def test_calibrate_reports_ece_and_saves_beside_model(tiny_model_dir: str, beir_dir: Path, tmp_path: Path) -> None:
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    report = tmp_path / "calibration.json"
    result = runner.invoke(
        app,
        ["calibrate", str(beir_dir), "--model", str(model), "--fit-split", "test", "--eval-split", "test",
         "--top-k", "5", "--out", str(report), "--save"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["ece_after"] <= data["ece_before"]  # fitted and measured on the same pairs here
    assert (model / "crossrank_calibration.json").is_file()
    assert "ECE on test" in result.output


def test_bench_quick_smoke(tiny_model_dir: str, beir_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = runner.invoke(
        app,
        ["bench", "--quick", "--model", tiny_model_dir, "--dataset", str(beir_dir), "--backend", "torch",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    engines = {r["engine"] for r in data["results"]}
    assert engines == {"baseline", "crossrank", "bare scorer", "langchain", "llama_index"}
    assert all(r["pairs"] == 16 and r["pairs_per_second"] > 0 for r in data["results"])
    assert set(data["adapter_overhead"]) == {"langchain", "llama_index"}
    assert data["speedup"]["throughput"] > 0


def test_bench_rejects_missing_dataset(tiny_model_dir: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "--quick", "--model", tiny_model_dir, "--dataset", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert flat("nope is not a directory") in flat(result.output)


def test_eval_without_a_dataset_runs_on_the_bundled_sample(tiny_model_dir: str, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    result = runner.invoke(app, ["eval", "--model", tiny_model_dir, "--top-k", "5", "--no-thresholds", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    assert data["dataset"] == "sample_data" and data["queries"] == 8
    assert data["metrics"]["scores"]["reranked"]["ndcg@10"] > 0


def test_bench_quick_runs_on_the_bundled_sample(tiny_model_dir: str, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "--quick", "--model", tiny_model_dir, "--backend", "torch", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert Path(data["workload"]["dataset"]).name == "sample_data"
    assert all(r["pairs"] == 16 for r in data["results"])


def test_no_development_paths_in_the_help() -> None:
    for command in ("eval", "calibrate", "bench"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "250"})
        assert result.exit_code == 0 and "shared" not in result.output, result.output


def test_eval_and_calibrate_mistakes_are_one_line_and_come_before_the_model(beir_dir: Path, tmp_path: Path) -> None:
    # The model does not exist: each mistake below is reported instead, so it was checked first.
    no_model = ["--model", str(tmp_path / "no-model")]
    cases = [
        (["eval", "--first-stage", "nope"], "Invalid value for --first-stage: 'nope'; choose one of bm25"),
        (["eval", "--first-stage", "run"], "--first-stage run needs --run-file"),
        (["eval", str(tmp_path / "nowhere")], "nowhere: not a directory"),
        (["calibrate", str(beir_dir), "--fit-split", "test", "--eval-split", "dev"], "dev.tsv: no such split"),
        (["bench", "--quick", "--dataset", str(tmp_path / "nowhere")], "nowhere is not a directory"),
        (["eval"], "no-model' does not exist"),
        (["eval", "--backend", "tpu"], "unknown backend 'tpu'"),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*args, *no_model])
        assert result.exit_code == 2, (args, result.output)
        assert message in error_line(result), args


def test_a_missing_optional_package_is_named_with_its_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ranx", None)  # as if ranx were not installed
    result = runner.invoke(app, ["eval", "--model", str(tmp_path / "no-model")])
    assert result.exit_code == 1
    assert "crossrank eval needs the Python package ranx" in error_line(result)
    assert "pip install 'crossrank[eval]'" in error_line(result)


def test_the_sample_is_declared_as_package_data() -> None:
    from pathlib import PurePosixPath

    from crossrank.evaluation.cli import SAMPLE_DATA

    tomllib = pytest.importorskip("tomllib")
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    globs = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["crossrank"]
    files = [PurePosixPath(p.relative_to(SAMPLE_DATA.parent).as_posix()) for p in SAMPLE_DATA.rglob("*") if p.is_file()]
    assert len(files) == 4
    assert [f for f in files if not any(f.match(g) for g in globs)] == []  # every file ships in the wheel
