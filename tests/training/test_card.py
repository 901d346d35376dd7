"""crossrank.training.card: the record of a training run and the model card written from it."""

from __future__ import annotations

from pathlib import Path

from crossrank.training.card import TrainingSummary, render_model_card, write_model_card


def _summary(**extra: object) -> TrainingSummary:
    return TrainingSummary(
        output_dir="models/my-reranker",
        train_queries=12,
        train_pairs=96,
        steps=40,
        seconds=90.0,
        base_validation_ndcg10=0.41,
        best_validation_ndcg10=0.5234,
        hyperparameters={"base_model": "minilm", "head": "cls", "num_negatives": 7, "teacher_weight": 0.5},
        extra=dict(extra),
    )


def test_the_card_states_base_data_hyperparameters_metrics_and_the_command() -> None:
    card = render_model_card(_summary(), "crossrank train data/x -o out")
    assert card.startswith("---\nlibrary_name: sentence-transformers")
    assert "`minilm` with a `cls` head" in card
    assert "96 (query, passage) pairs from 12 queries" in card and "plus 7 hard negatives" in card
    assert "| num_negatives | 7 |" in card
    assert "| first-stage order (before reranking) | 0.4100 |" in card and "| 0.5234 |" in card
    assert "40 optimiser steps in 1.5 minutes." in card
    assert "```bash\ncrossrank train data/x -o out\n```" in card
    assert "Labels are the human judgements only." in card


def test_a_teacher_run_names_its_calibration_and_a_run_without_validation_says_so() -> None:
    summary = _summary(teacher_calibration={"platt_a": 4.25, "platt_b": -2.0}, notes="Distilled from mpnet.")
    summary.best_validation_ndcg10 = summary.base_validation_ndcg10 = None
    card = render_model_card(summary, "crossrank distil ...")
    assert "sigmoid(4.250 * cos + -2.000), weight 0.5." in card
    assert "Distilled from mpnet." in card
    assert "| first-stage order (before reranking) | n/a |" in card


def test_the_card_is_written_as_the_models_readme(tmp_path: Path) -> None:
    path = write_model_card(tmp_path, _summary(), "crossrank train data/x")
    assert path == tmp_path / "README.md"
    assert path.read_text(encoding="utf-8") == render_model_card(_summary(), "crossrank train data/x")
    assert "Model saved to models/my-reranker" in str(_summary())
    assert "validation NDCG@10: 0.5234 (first-stage order: 0.4100)" in str(_summary())
