"""The training commands (``crossrank train``, ``distil``, ``adapt``) through the real ``crossrank`` app: a step each, and common mistakes as one line before any work."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import error_line
from typer.testing import CliRunner

from crossrank.cli import app

runner = CliRunner()


def _pairs(tmp_path: Path) -> Path:
    rows = [
        {"query": "what do pandas eat", "passage": "Giant pandas eat bamboo shoots and leaves.", "label": 1},
        {"query": "what do pandas eat", "passage": "Paris is the capital of France.", "label": 0},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_malformed_data_file_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "q", "passage": "p", "label": 1}\nnot json\n')
    result = runner.invoke(app, ["train", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "bad.jsonl:2: not valid JSON" in error_line(result)


def test_a_missing_base_model_is_reported_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["train", str(_pairs(tmp_path)), "-o", str(out), "--base-model", str(tmp_path / "no-base")]
    )
    assert result.exit_code == 2
    assert "no-base' does not exist" in error_line(result)
    assert not out.exists()


DOCS = {
    "qdrant.md": "# Qdrant\n\nQdrant stores vectors and runs embedded in the process or as a separate server.",
    "bm25.md": "# BM25\n\nBM25 ranks documents by how often the query terms occur, damped by document length.",
    "gate.md": "# The gate\n\nThe relevance gate refuses to answer when no passage scores above the threshold.",
    "passwords.md": "# Passwords\n\nPasswords can be reset from the login screen with the Forgot Password link.",
}


def test_adapt_command_trains_a_model_folder(base_model_dir: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    out = tmp_path / "adapted"
    args = [
        "adapt",
        str(docs),
        "-o",
        str(out),
        "--base-model",
        base_model_dir,
        "--max-steps",
        "1",
        "--batch-queries",
        "2",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "adapted on 4 chunks from 4 files" in result.output
    assert (out / "model" / "config.json").is_file()


def test_distil_command_trains_from_a_groups_file(base_model_dir: str, tmp_path: Path) -> None:
    from crossrank.training.groups import TrainingGroup, save_groups

    texts = list(DOCS.values())
    groups = [
        TrainingGroup(
            "how do I reset my password", [texts[3], texts[0], texts[1]], [1.0, 0.0, 0.0], [0.8, 0.1, 0.2]
        ),
        TrainingGroup(
            "what does bm25 rank by", [texts[1], texts[2], texts[3]], [1.0, 0.0, 0.0], [0.7, 0.3, 0.0]
        ),
    ]
    path = tmp_path / "groups.jsonl"
    save_groups(groups, path)
    out = tmp_path / "distilled"
    args = ["distil", str(path), "-o", str(out), "--base-model", base_model_dir, "--max-steps", "1",
            "--batch-queries", "2", "--max-length", "64"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "distilled 2 groups in 1 steps" in result.output
    assert (out / "model" / "config.json").is_file()


def test_distil_and_adapt_mistakes_are_one_line(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["distil", str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "out")])
    assert missing.exit_code == 2 and "no such groups file" in error_line(missing)
    bad_loss = tmp_path / "g.jsonl"
    bad_loss.write_text("")
    wrong = runner.invoke(app, ["distil", str(bad_loss), "-o", str(tmp_path / "out"), "--loss", "hinge"])
    assert wrong.exit_code == 2 and "--loss must be 'kl' or 'margin-mse'" in error_line(wrong)
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(app, ["adapt", str(empty), "-o", str(tmp_path / "out")])
    assert nothing.exit_code == 2 and "at least 2 passages" in error_line(nothing)
