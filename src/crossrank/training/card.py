"""The model card (README.md) written beside every trained model.

Example:
    ```python
    write_model_card(Path("models/my-reranker"), summary, "crossrank train ...")
    ```
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from crossrank.training.trainer import TrainingSummary


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def render_model_card(summary: TrainingSummary, command: str) -> str:
    """Render the model card as Markdown: base, data, hyperparameters, metrics, reproduce command.

    Example:
        ```python
        print(render_model_card(summary, "crossrank train data/x --output-dir out"))
        ```
    """
    hp = summary.hyperparameters
    rows = "\n".join(f"| {key} | {value} |" for key, value in hp.items())
    notes = str(summary.extra.get("notes") or "").strip()
    # extra is dict[str, object]; the trainer stores soft_labels' Platt parameters under this key.
    calibration = cast("dict[str, float]", summary.extra.get("teacher_calibration") or {})
    teacher_line = (
        f"Labels mix human judgements with the teacher's cosine similarity, calibrated on the training labels "
        f"as sigmoid({calibration.get('platt_a', 0):.3f} * cos + {calibration.get('platt_b', 0):.3f}), "
        f"weight {hp.get('teacher_weight')}."
        if calibration
        else "Labels are the human judgements only."
    )
    return f"""---
library_name: sentence-transformers
pipeline_tag: text-ranking
tags: [cross-encoder, reranker, crossrank]
---

# Cross-encoder reranker trained with crossrank

A cross-encoder that scores (query, passage) pairs for reranking, trained with `crossrank train`.
Load it with `sentence_transformers.CrossEncoder("{summary.output_dir}")` or
`crossrank.CrossEncoderScorer(model="{summary.output_dir}")`. Scores are logits; `predict` applies a sigmoid.

## Base model

`{hp.get("base_model")}` with a `{hp.get("head")}` head (`cls` = first-token classification head,
`mean` = mean pooling of the token embeddings and a linear layer).

## Training data

{summary.train_pairs} (query, passage) pairs from {summary.train_queries} queries; per query the judged
passages plus {hp.get("num_negatives")} hard negatives mined from BM25's top {hp.get("mining_depth")}
(positives excluded). {teacher_line}

{notes}

## Hyperparameters

| option | value |
|---|---|
{rows}

## Metrics

| validation set | NDCG@10 |
|---|---|
| first-stage order (before reranking) | {_fmt(summary.base_validation_ndcg10)} |
| this model (best checkpoint) | {_fmt(summary.best_validation_ndcg10)} |

{summary.steps} optimiser steps in {summary.seconds / 60:.1f} minutes.

## Reproduce

```bash
{command}
```
"""


def write_model_card(output_dir: Path, summary: TrainingSummary, command: str) -> Path:
    """Write ``README.md`` into ``output_dir`` (replacing sentence-transformers' generic card).

    Example:
        ```python
        write_model_card(Path("out"), summary, "crossrank train ...")
        ```
    """
    path = Path(output_dir) / "README.md"
    path.write_text(render_model_card(summary, command), encoding="utf-8")
    return path
