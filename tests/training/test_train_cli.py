"""``crossrank train`` through the real ``crossrank`` app: common mistakes are one line, before any work."""

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
    result = runner.invoke(app, ["train", str(_pairs(tmp_path)), "-o", str(out), "--base-model", str(tmp_path / "no-base")])
    assert result.exit_code == 2
    assert "no-base' does not exist" in error_line(result)
    assert not out.exists()
