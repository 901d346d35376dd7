"""Fit the shipped default model's calibration on its validation data and save it beside the weights.

Run from the repository root after ``package_model.py``:

    PYTHONPATH=src:models/crossrank-default-model python models/crossrank-default-model/calibrate_default.py

Data: the recipe's validation parts only (recipe_sets.load_split(..., "validation"), never
training or held-out data), every style: questions, search queries, medical questions,
web questions and claims, with BM25's top ``--depth`` (or the judged candidate list) as
candidates. Queries alternate between a fit half and an evaluation half, so the reported
ECE and threshold are measured on pairs the fit never saw.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from evaluate_recipe import _candidates
from recipe_sets import load_split

from crossrank import CrossEncoderScorer
from crossrank.evaluation.calibration import calibrate

PACKAGE_MODEL_DIR = Path(__file__).resolve().parent / "crossrank_default_model" / "model"


def main(
    data_dir: Path = typer.Option(Path("../shared/data"), help="The shared data folder."),
    model_dir: Path = typer.Option(PACKAGE_MODEL_DIR, help="The packaged model; saved there."),
    depth: int = typer.Option(20, help="BM25 candidates per validation query."),
    queries_per_set: int = typer.Option(60, help="Validation queries sampled per set (seed 1)."),
    target_precision: float = typer.Option(0.8, help="Suggest the threshold reaching this precision."),
    method: str = typer.Option("platt", help="'platt' or 'temperature'."),
) -> None:
    """Score the validation pairs with the raw model, fit, report, save ``crossrank_calibration.json``."""
    import random

    samples = []
    for part in load_split(data_dir, "validation").values():
        queries = sorted(part.queries)
        random.Random(1).shuffle(queries)
        run = _candidates(part, queries[:queries_per_set], depth)
        for q, docs in run.items():
            positives = {d for d, g in part.qrels[q].items() if g > 0}
            samples.append({"query": part.queries[q], "documents": [part.corpus[d] for d in docs],
                            "positive": [part.corpus[d] for d in positives]})
    scorer = CrossEncoderScorer(str(model_dir), calibration=None)
    groups = [(str(s["query"]), list(dict.fromkeys(s["documents"]))) for s in samples]
    # One batched, length-sorted pass over every query's candidates.
    all_scores = scorer.score_many(groups)
    halves: list[tuple[list[float], list[int]]] = [([], []), ([], [])]
    for i, (sample, (_, documents), scores) in enumerate(zip(samples, groups, all_scores)):
        positives = set(sample["positive"])  # type: ignore[call-overload]
        logits, labels = halves[i % 2]
        logits.extend(s.logit for s in scores)
        labels.extend(int(d in positives) for d in documents)
    (fit_logits, fit_labels), (eval_logits, eval_labels) = halves
    report = calibrate(
        np.asarray(fit_logits),
        np.asarray(fit_labels),
        np.asarray(eval_logits),
        np.asarray(eval_labels),
        method=method,  # type: ignore[arg-type]
        target_precision=target_precision,
    )
    path = report.calibration.save(model_dir)
    print(json.dumps({"queries": len(samples), **report.to_dict(), "saved": str(path)}, indent=2))


if __name__ == "__main__":
    typer.run(main)
