"""Fit the shipped default model's calibration on its validation data and save it beside the weights.

Run from the repository root after ``package_model.py``:

    PYTHONPATH=src python models/crossrank-default-model/calibrate_default.py --data-dir ../shared/data

Data: the model's validation split only (never its training or held-out data): questions from
the SQuAD validation articles with BM25's top ``--depth`` paragraphs of those articles as
candidates, and TrecQA dev with its judged candidates. Both are permissively licensed, so the
shipped calibration carries no research-only data. Queries alternate between a fit half and an
evaluation half, so the reported ECE and threshold are measured on pairs the fit never saw.

``crossrank calibrate`` does the same for any BEIR folder; this script exists because the
default model's validation split is built by ``recipe_data.split_by_article`` rather than read
from a qrels file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from crossrank import CrossEncoderScorer
from crossrank.evaluation.calibration import calibrate
from crossrank.training.recipe_data import load_recipe_sets, sample_queries
from crossrank.training.trainer import validation_samples

PACKAGE_MODEL_DIR = Path(__file__).resolve().parent / "crossrank_default_model" / "model"


def main(
    data_dir: Path = typer.Option(Path("../shared/data"), help="The shared data folder."),
    model_dir: Path = typer.Option(PACKAGE_MODEL_DIR, help="The packaged model; saved there."),
    depth: int = typer.Option(20, help="BM25 candidates per SQuAD validation question."),
    squad_queries: int = typer.Option(300, help="SQuAD validation questions sampled (seed 0)."),
    target_precision: float = typer.Option(0.8, help="Suggest the threshold reaching this precision."),
    method: str = typer.Option("platt", help="'platt' or 'temperature'."),
) -> None:
    """Score the validation pairs with the raw model, fit, report, save ``crossrank_calibration.json``."""
    sets = load_recipe_sets(data_dir)
    squad = sample_queries(sets["squad_validation"], squad_queries, seed=0)
    samples = validation_samples(squad, depth=depth) + validation_samples(sets["trecqa_dev"])
    scorer = CrossEncoderScorer(str(model_dir), calibration=None)
    groups = [
        (str(s["query"]), list(dict.fromkeys(s["documents"])))  # type: ignore[call-overload]
        for s in samples
    ]
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
