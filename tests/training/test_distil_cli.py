"""``crossrank distil`` and ``crossrank adapt`` through the real ``crossrank`` app: a step each, and one-line mistakes."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import error_line
from typer.testing import CliRunner

from crossrank.cli import app

runner = CliRunner()

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
    args = ["adapt", str(docs), "-o", str(out), "--base-model", base_model_dir, "--max-steps", "1", "--batch-queries", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "adapted on 4 chunks from 4 files" in result.output
    assert (out / "model" / "config.json").is_file()


def test_distil_command_trains_from_a_groups_file(base_model_dir: str, tmp_path: Path) -> None:
    from crossrank.training.groups import TrainingGroup, save_groups

    texts = list(DOCS.values())
    groups = [
        TrainingGroup("how do I reset my password", [texts[3], texts[0], texts[1]], [1.0, 0.0, 0.0], [0.8, 0.1, 0.2]),
        TrainingGroup("what does bm25 rank by", [texts[1], texts[2], texts[3]], [1.0, 0.0, 0.0], [0.7, 0.3, 0.0]),
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
