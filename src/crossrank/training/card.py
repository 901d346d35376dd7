"""What a training run did (``TrainingSummary``) and the model card (README.md) written from it beside every trained model.

Example:
    ```python
    write_model_card(Path("models/my-reranker"), summary, "crossrank train ...")
    ```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast


@dataclass
class TrainingSummary:
    """What a training run did and how well the kept model scores on validation.

    Attributes:
        output_dir: where the model (loadable by ``CrossEncoder(output_dir)``) and README.md are.
        train_queries / train_pairs: size of the training data after mining.
        steps: optimiser steps taken.
        seconds: wall time of the run.
        base_validation_ndcg10: NDCG@10 of the validation candidates in first-stage order.
        best_validation_ndcg10: NDCG@10 of the kept (best) checkpoint.
        hyperparameters: every option the run used.
        extra: facts for the model card (teacher calibration, data description, ...).
    """

    output_dir: str
    train_queries: int
    train_pairs: int
    steps: int
    seconds: float
    base_validation_ndcg10: float | None
    best_validation_ndcg10: float | None
    hyperparameters: dict[str, object]
    extra: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [
            f"Model saved to {self.output_dir}",
            (
                f"  trained on {self.train_pairs} pairs from {self.train_queries} queries, {self.steps} steps, "
                f"{self.seconds / 60:.1f} min"
            ),
        ]
        if self.best_validation_ndcg10 is not None:
            lines.append(
                f"  validation NDCG@10: {self.best_validation_ndcg10:.4f} "
                f"(first-stage order: {self.base_validation_ndcg10:.4f})"
            )
        return "\n".join(lines)


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
