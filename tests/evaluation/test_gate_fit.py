"""Fitting the gate to a folder: the sweep, the threshold, the questions file and ``crossrank calibrate --questions``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import error_line
from typer.testing import CliRunner

from crossrank import Calibration, CrossEncoderScorer
from crossrank.cli import app
from crossrank.data import DatasetError
from crossrank.evaluation.gate_fit import fit_gate, load_questions


def test_the_lowest_threshold_reaching_the_precision_is_chosen() -> None:
    # Answerable questions score 0.9 / 0.7 (right file on top) and 0.6 (wrong file); unanswerable 0.65, 0.2.
    best = [0.9, 0.7, 0.6, 0.65, 0.2]
    correct = [True, True, False, False, False]
    answerable = [True, True, True, False, False]
    fit = fit_gate(best, correct, answerable, [0.5, 0.5, 0.5, 0.5, 0.5], target_precision=0.99)
    assert fit.threshold == 0.7 and fit.precision == 1.0 and fit.recall == pytest.approx(2 / 3)
    assert [row.answered for row in fit.sweep] == [5, 4, 3, 2, 1]  # thresholds 0.2, 0.6, 0.65, 0.7, 0.9
    loose = fit_gate(best, correct, answerable, [0.5] * 5, target_precision=0.5)
    assert loose.threshold == 0.6  # 2 right of 4 answered
    assert fit.auc_probability == pytest.approx(5 / 6)
    assert fit.auc_first_stage == pytest.approx(0.5)  # a constant first stage separates nothing
    assert fit_gate([0.9, 0.8], [False, False], [True, False], [0.1, 0.2], 0.8).threshold is None
    json.dumps(fit.to_dict())


def test_question_files_are_checked_line_by_line(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("Alpha.\n")
    bad = tmp_path / "q.jsonl"
    cases = {
        '{"question": "q", "source": "a.md"}\nnot json\n': "q.jsonl:2: not valid JSON",
        '{"question": ""}\n': 'q.jsonl:1: expected an object with a non-empty string "question"',
        '{"question": "q", "source": "missing.md"}\n': "q.jsonl:1: source 'missing.md' is not a file",
        '{"question": "q", "source": "a.md"}\n': "needs both questions the documents answer and questions they do not",
    }
    for text, message in cases.items():
        bad.write_text(text)
        with pytest.raises(DatasetError, match=message):
            load_questions(bad, tmp_path / "docs")
    bad.write_text(
        '{"question": "q", "source": "a.md"}\n{"question": "r", "source": null}\n{"question": "s"}\n'
    )
    loaded = load_questions(bad, tmp_path / "docs")
    assert [q.source is not None for q in loaded] == [True, False, False]


@pytest.fixture(scope="module")
def folder_with_questions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tiny_model import QA

    root = tmp_path_factory.mktemp("gate")
    docs = root / "docs"
    docs.mkdir()
    lines = []
    for number, (query, positive, negative) in enumerate(QA[:10]):
        (docs / f"answer{number}.md").write_text(positive + "\n")
        (docs / f"other{number}.md").write_text(negative + "\n")
        lines.append({"question": query, "source": f"answer{number}.md"})
    for query in (
        "What is the distance to the Andromeda galaxy?",
        "How do I bake sourdough bread?",
        "Who won the 1998 football world cup?",
        "What is the airspeed of a swallow?",
    ):
        lines.append({"question": query, "source": None})
    questions = root / "questions.jsonl"
    questions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return docs, questions


def test_calibrate_fits_a_folder_and_saves_a_fitted_threshold(
    folder_with_questions: tuple[Path, Path], tiny_model_dir: str, tmp_path: Path
) -> None:
    import shutil

    docs, questions = folder_with_questions
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    out, plot = tmp_path / "fit.json", tmp_path / "sweep.png"
    result = CliRunner().invoke(
        app,
        ["calibrate", str(docs), "--questions", str(questions), "--model", str(model), "--backend", "torch",
         "--target-precision", "0.8", "--top-k", "5", "--out", str(out), "--plot", str(plot), "--save"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text())
    assert body["questions"] == 14 and body["answerable"] == 10 and body["chunks"] == 20
    assert body["threshold"] is not None and body["precision"] >= 0.8
    assert body["auc_probability"] > 0.5  # the tiny model does separate its own topics from others
    assert plot.read_bytes()[:4] == b"\x89PNG"
    saved = Calibration.load(model)
    assert (
        saved is not None and saved.source == "fitted" and saved.threshold == pytest.approx(body["threshold"])
    )
    gate = (
        CrossEncoderScorer(model, backend="torch", device="cpu")
        .rerank("What do pandas eat?", ["Bamboo."])
        .gate
    )
    assert gate.source == "fitted" and gate.threshold == pytest.approx(body["threshold"])


def test_calibrate_folder_mistakes_are_one_line(
    folder_with_questions: tuple[Path, Path], tmp_path: Path
) -> None:
    docs, _ = folder_with_questions
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "q", "source": "nope.md"}\n')
    result = CliRunner().invoke(
        app, ["calibrate", str(docs), "--questions", str(bad), "--model", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert "source 'nope.md' is not a file" in error_line(result)  # before any model is looked up
