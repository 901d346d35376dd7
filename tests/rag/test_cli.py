"""``crossrank ingest`` and ``crossrank ask`` through typer, on the embedded Qdrant and the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from crossrank.rag.cli import register


@pytest.fixture
def cli(tmp_path: Path, tiny_model_dir: str, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """The RAG commands on their own app, configured through CROSSRANK_* like a user would."""
    monkeypatch.setenv("CROSSRANK_QDRANT_PATH", str(tmp_path / "qdrant"))
    monkeypatch.setenv("CROSSRANK_MODEL", tiny_model_dir)
    monkeypatch.setenv("CROSSRANK_DEVICE", "cpu")
    monkeypatch.setenv("CROSSRANK_GENERATOR", "extractive")
    monkeypatch.setenv("CROSSRANK_CHUNK_SIZE", "120")
    monkeypatch.setenv("CROSSRANK_CHUNK_OVERLAP", "0")
    monkeypatch.setenv("COLUMNS", "250")  # rich tables: wide enough that no cell is cut
    app = typer.Typer()
    register(app)
    return app


def test_ingest_then_ask_as_json_and_with_explain(cli: typer.Typer, docs_folder: Path) -> None:
    runner = CliRunner()
    (docs_folder / "broken.pdf").write_bytes(b"not a pdf")
    ingested = runner.invoke(cli, ["ingest", str(docs_folder), "--json"])
    assert ingested.exit_code == 0, ingested.output
    report = json.loads(ingested.stdout)
    assert report["counts"]["added"] == 4 and report["counts"]["failed"] == 1

    asked = runner.invoke(cli, ["ask", "What do pandas eat?", "--json", "--explain"])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.stdout)
    assert answer["verdict"] == "relevant" and "bamboo" in answer["sources"][0]["text"]
    assert answer["trace"]["candidates"][0]["rerank_rank"] == 1

    # a flag wins over the environment: a 0.99 threshold with no weak band refuses
    refused = runner.invoke(
        cli,
        [
            "ask",
            "What do pandas eat?",
            "--min-probability",
            "0.99",
            "--weak-min-probability",
            "0.99",
            "--explain",
        ],
    )
    assert refused.exit_code == 0, refused.output
    assert "Verdict: none" in refused.stdout and "threshold 0.99" in refused.stdout
    assert "none is relevant enough" in refused.stdout
    assert (
        "Trace" in refused.stdout
        and "below_min_probability" in refused.stdout
        and "Timings" in refused.stdout
    )


def test_errors_are_one_clear_line_and_exit_code_1(
    cli: typer.Typer, tmp_path: Path, closed_port: int
) -> None:
    runner = CliRunner()
    not_ingested = runner.invoke(cli, ["ask", "What do pandas eat?"])
    assert not_ingested.exit_code == 1 and "crossrank ingest" in not_ingested.output

    unreachable = runner.invoke(
        cli, ["ask", "What do pandas eat?", "--qdrant-url", f"http://127.0.0.1:{closed_port}"]
    )
    assert unreachable.exit_code == 1 and "did not answer" in unreachable.output

    missing = runner.invoke(cli, ["ingest", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "nowhere: no such file or folder" in missing.output

    bad = runner.invoke(cli, ["ask", "q?", "--min-probability", "1.5"])
    assert bad.exit_code == 2 and "min_probability" in bad.output
