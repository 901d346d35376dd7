"""``crossrank rerank`` through the real ``crossrank`` app: results, and one-line errors for common mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import error_line
from typer.testing import CliRunner

from crossrank.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["q?", "p", "--model", "{tmp}/no-such-model"], "no-such-model' does not exist; pass a model folder"),
        (["q?", "p", "--model", "someone/never-downloaded"], "is not in the local Hugging Face cache"),
        (["q?", "p", "--backend", "tpu"], "unknown backend 'tpu'; choose one of"),
        # the query is checked before the model is even looked up
        (["   ", "p", "--model", "{tmp}/no-such-model"], "query is empty"),
        (["q?"], "give passages as arguments or with --file"),
        (["q?", "--file", "{tmp}/passages.jsonl"], "passages.jsonl:2: not valid JSON"),
        (["q?", "p", "--min-probability", "2"], "min_probability"),
    ],
    ids=["missing-model-path", "uncached-hub-id", "unknown-backend", "empty-query", "no-passages", "bad-jsonl",
         "bad-threshold"],
)  # fmt: skip
def test_rerank_mistakes_are_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "passages.jsonl").write_text('{"text": "ok"}\nnot json\n')
    result = runner.invoke(app, ["rerank", *[a.format(tmp=tmp_path) for a in args]])
    assert result.exit_code == 2, result.output
    assert message in error_line(result)


def test_json_is_a_plain_flag(tiny_model_dir: str) -> None:
    result = runner.invoke(app, ["rerank", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    json_line = next(line for line in result.output.splitlines() if "--json" in line)
    assert "<bool>" not in json_line and "Print the whole result as JSON" in json_line
    assert "<int>" in next(line for line in result.output.splitlines() if "--top-n" in line)  # values keep types

    result = runner.invoke(
        app,
        ["rerank", "What do pandas eat?", "The stock market fell sharply on Monday.",
         "Giant pandas eat almost nothing but bamboo shoots and leaves.", "--model", tiny_model_dir, "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kept = json.loads(result.stdout)["kept"]  # no thresholds given: every passage, best first
    assert kept[0]["rerank_rank"] == 1 and "bamboo" in kept[0]["text"]
