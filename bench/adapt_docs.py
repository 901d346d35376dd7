"""Before/after of ``crossrank adapt`` on a real documentation set, on questions it never saw.

Two steps, run from the repository root:

    # 1. split the documentation's pages: 70 % to adapt on, 30 % held out (stable hash of the file name)
    python bench/adapt_docs.py split DOCS_FOLDER /work/cache/pgdoc
    crossrank adapt /work/cache/pgdoc/train -o /work/cache/pg-adapt --teacher $MPNET --max-queries 2000

    # 2. hand-written questions answered by the held-out pages, retrieved from *all* pages
    python bench/adapt_docs.py evaluate DOCS_FOLDER --questions bench/data/postgresql_sql_questions.jsonl \
        --model before=default --model after=/work/cache/pg-adapt/model --bi-encoder minilm=minilm

The questions (``{"question", "source", "answer"}`` per line) were written by hand from the
held-out pages, not cut from them by the pseudo-query procedure ``adapt`` trains on. A chunk
of the ``source`` page that contains the ``answer`` phrase is graded 2, any other chunk of that
page 1. Every system reranks the same BM25 top ``--depth`` chunks of the whole collection;
metrics by ``ranx`` with paired t-tests (``crossrank.evaluation.metrics.compare_runs``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help=__doc__.splitlines()[0])


def _held_out(name: str, fraction: float) -> bool:
    # A hash of the file name, not a random draw, so the split is the same on every machine.
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % 100 < round(fraction * 100)


@app.command()
def split(
    docs: Annotated[Path, typer.Argument(help="Folder of the documentation's files.")],
    output: Annotated[Path, typer.Argument(help="Writes OUTPUT/train and OUTPUT/heldout.")],
    heldout_fraction: Annotated[
        float, typer.Option(help="Share of the files held out from adaptation.")
    ] = 0.3,
) -> None:
    """Copy the documentation's files into a part to adapt on and a held-out part."""
    counts = {"train": 0, "heldout": 0}
    for part in counts:
        shutil.rmtree(output / part, ignore_errors=True)
        (output / part).mkdir(parents=True)
    for path in sorted(p for p in docs.iterdir() if p.is_file()):
        part = "heldout" if _held_out(path.name, heldout_fraction) else "train"
        shutil.copy2(path, output / part / path.name)
        counts[part] += 1
    print(
        f"{counts['train']} files to adapt on in {output / 'train'}, {counts['heldout']} held out in {output / 'heldout'}"
    )


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def _qrels(chunks: dict[str, str], questions: list[dict[str, str]]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for number, question in enumerate(questions):
        page = {c: t for c, t in chunks.items() if c.rsplit("#", 1)[0] == question["source"]}
        if not page:
            raise typer.BadParameter(f"question {number + 1}: no chunk comes from {question['source']!r}")
        answer = _normalise(question["answer"])
        grades = {c: 2 if answer in _normalise(t) else 1 for c, t in page.items()}
        if 2 not in grades.values():
            raise typer.BadParameter(
                f"question {number + 1}: {question['answer']!r} is in no chunk of {question['source']}"
            )
        qrels[f"q{number}"] = grades
    return qrels


@app.command()
def evaluate(
    docs: Annotated[Path, typer.Argument(help="Folder of all the documentation's files (both parts).")],
    questions: Annotated[Path, typer.Option(help='A .jsonl of {"question", "source", "answer"}.')],
    model: Annotated[
        list[str] | None, typer.Option(help="name=path of a reranker ('default' = the shipped model).")
    ] = None,
    bi_encoder: Annotated[
        list[str] | None,
        typer.Option(help="name=path of a bi-encoder baseline ('minilm' = all-MiniLM-L6-v2)."),
    ] = None,
    depth: Annotated[int, typer.Option(help="BM25 candidates per question.")] = 30,
    backend: Annotated[str, typer.Option(help="Scorer backend for the rerankers.")] = "onnx",
    output: Annotated[Path, typer.Option(help="JSON of the table.")] = Path("/work/cache/adapt_docs.json"),
) -> None:
    """NDCG@10, MRR@10 and Recall@10 of BM25, bi-encoders and rerankers on the questions."""
    from crossrank import CrossEncoderScorer
    from crossrank.evaluation.first_stage import bm25_run
    from crossrank.evaluation.metrics import compare_runs
    from crossrank.evaluation.report import metrics_markdown
    from crossrank.evaluation.rerank import rerank_run
    from crossrank.rag.ingest import read_chunks
    from crossrank.rag.settings import RagSettings
    from crossrank.retrieval.embed import load_embedder

    read, skipped = read_chunks([docs], RagSettings())
    for message in skipped:
        print(f"skipped: {message}")
    chunks = {f"{Path(c.rsplit('#', 1)[0]).name}#{c.rsplit('#', 1)[1]}": t for c, t in read.items()}
    records = [json.loads(line) for line in questions.read_text().splitlines() if line.strip()]
    qrels = _qrels(chunks, records)
    queries = {f"q{n}": r["question"] for n, r in enumerate(records)}
    first = bm25_run(chunks, queries, k=depth)
    runs: dict[str, dict[str, dict[str, float]]] = {"bm25": first}
    for spec in bi_encoder or []:
        name, _, path = spec.partition("=")
        started = time.time()
        embedder = load_embedder(None if path == "minilm" else path)
        # Each text once: the candidate lists of different questions overlap.
        ids = sorted({d for candidates in first.values() for d in candidates})
        at = {d: i for i, d in enumerate(ids)}
        passages = embedder.encode([chunks[d] for d in ids])
        asked = embedder.encode([queries[q] for q in first])
        runs[name] = {
            q: {d: float(passages[at[d]] @ asked[i]) for d in candidates}
            for i, (q, candidates) in enumerate(first.items())
        }
        print(f"{name}: {time.time() - started:.0f} s", flush=True)
    for spec in model or []:
        name, _, path = spec.partition("=")
        started = time.time()
        scorer = CrossEncoderScorer(None if path == "default" else path, backend=backend)
        runs[name] = rerank_run(scorer, queries, chunks, first).logits
        print(f"{name}: {time.time() - started:.0f} s", flush=True)
    table = compare_runs(qrels, runs, metrics=("ndcg@10", "mrr@10", "recall@10"))
    print(f"\n{len(chunks)} chunks, {len(queries)} questions, BM25 top {depth}\n")
    print(metrics_markdown(table, baseline="bm25"))
    output.write_text(json.dumps({"depth": depth, "chunks": len(chunks), **table.to_dict()}, indent=2))


if __name__ == "__main__":
    app()
