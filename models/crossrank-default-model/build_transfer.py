"""Build the default model's transfer set: queries of every style, mined candidates, teacher scores (cached).

Run from the repository root (the exact command is in the model card):

    PYTHONPATH=src:models/crossrank-default-model python models/crossrank-default-model/build_transfer.py \\
        --data-dir ../shared/data --teacher /path/to/all-mpnet-base-v2 --cache /work/cache/teacher \\
        --output /work/cache/transfer/groups.jsonl

Only the train parts of the permissively licensed sets (recipe_sets.TRAIN_LICENSED) and
pseudo-queries cut from their passages are used. Every (query, candidate) is scored by
the teacher once; the embeddings stay in ``--cache`` for the next recipe.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import typer
from recipe_sets import TRAIN_LICENSED, Part, load_split

from crossrank.training.groups import TrainingGroup, save_groups
from crossrank.training.teacher import TeacherCache
from crossrank.training.transfer import (
    TransferQuery,
    build_groups_from_candidates,
    mine_candidates,
    pseudo_queries,
)

# Labelled questions taken per set (the rest of a set's train part is not needed: the
# styles should be balanced, and MedQuAD alone has 9,000 near-identical templates).
QUESTIONS = {"squad": 2500, "boolq": 1200, "nq": 931, "medquad": 700, "selqa": 644, "trecqa": 83, "hotpotqa": 103}
# Pseudo-queries cut from each pool's passages (claims, keywords, spans, titles).
PSEUDO = {"squad": 800, "boolq": 700, "nq": 600, "medquad": 400, "hotpotqa": 300}
# The teacher encodes every passage of a pool once (it is also the dense retriever), so the
# big pools are cut to the passages of the chosen questions plus as many others at random:
# on two CPU cores all-mpnet-base-v2 encodes only a few passages a second.
POOL_LIMIT = {"boolq": 1400, "medquad": 1500, "selqa": 4000, "trecqa": 1200}


def _limit_pool(part: Part, queries: list[TransferQuery], limit: int, seed: int) -> Part:
    if len(part.corpus) <= limit:
        return part
    keep = {d for q in queries for d in q.positives}
    keep |= {d for q in part.candidates.values() for d in q} if len(part.candidates) <= 200 else set()
    ids = [d for d in sorted(part.corpus) if d not in keep]
    random.Random(seed).shuffle(ids)
    keep |= set(ids[: max(0, limit - len(keep))])
    return Part(part.name, part.style, {d: part.corpus[d] for d in keep}, part.queries, part.qrels, part.candidates)


def _labelled(part: Part, n: int, seed: int) -> list[TransferQuery]:
    ids = sorted(part.queries)
    random.Random(seed).shuffle(ids)
    return [
        TransferQuery(f"{part.name}-{q}", part.queries[q], part.style, part.name,
                      tuple(d for d, g in part.qrels[q].items() if g > 0))
        for q in ids[:n]
    ]


def main(
    data_dir: Path = typer.Option(Path("../shared/data")),
    teacher: str = typer.Option(..., help="all-mpnet-base-v2 folder"),
    teacher_length: int = typer.Option(192, help="Tokens the teacher reads of each text."),
    cache: Path = typer.Option(Path("/work/cache/teacher")),
    output: Path = typer.Option(Path("/work/cache/transfer/groups.jsonl")),
    group_size: int = typer.Option(8),
    depth: int = typer.Option(30),
    seed: int = typer.Option(42),
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    scorer = TeacherCache(cache, teacher, max_length=teacher_length)
    logging.info("teacher: %d texts cached already", len(scorer))
    started = time.time()
    parts = load_split(data_dir, "train")
    groups: list[TrainingGroup] = []
    for name in TRAIN_LICENSED:
        part = parts[name]
        queries = _labelled(part, QUESTIONS.get(name, 0), seed)
        part = _limit_pool(part, queries, POOL_LIMIT.get(name, 10**9), seed)
        if name in PSEUDO:
            titles = {d: t.split(". ", 1)[0] for d, t in part.corpus.items() if ". " in t}
            queries += pseudo_queries(part.corpus, PSEUDO[name], pool=name, seed=seed, titles=titles)
        candidates = mine_candidates(part.corpus, queries, depth=depth, embed=scorer.embed)
        built = build_groups_from_candidates(queries, part.corpus, candidates, group_size=group_size, seed=seed)
        logging.info("%s: %d queries -> %d groups (%.0f s)", name, len(queries), len(built), time.time() - started)
        groups.extend(built)
    scores = scorer.score([(g.query, g.passages) for g in groups])
    for group, teacher_scores in zip(groups, scores):
        group.teacher = teacher_scores
    output.parent.mkdir(parents=True, exist_ok=True)
    save_groups(groups, output)
    logging.info("wrote %d groups to %s in %.0f s", len(groups), output, time.time() - started)


if __name__ == "__main__":
    typer.run(main)
