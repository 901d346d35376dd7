"""``crossrank eval``, ``crossrank calibrate`` and ``crossrank bench``.

Without a dataset, ``eval`` and ``bench`` use the small sample shipped in the package
(``crossrank/sample_data``: 8 queries, 30 passages), so a first run works anywhere.

Example:
    $ crossrank eval                      # the bundled sample
    $ crossrank eval path/to/scifact --split test --first-stage bm25 --top-k 100 --out runs/eval-scifact
    $ crossrank calibrate path/to/scifact --fit-split train --eval-split test --save
    $ crossrank bench --quick             # the bundled sample
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
"""The tiny BEIR-layout dataset shipped in the package (see its README.md)."""

_SAMPLE_HELP = "the bundled sample (8 queries, 30 passages)"

# Model, dataset and data-file errors are turned into one line by crossrank.cli.


def _scorer(model: str | None, backend: str, batch_size: int | None, calibrated: bool = True):  # type: ignore[no-untyped-def]
    from crossrank import CrossEncoderScorer

    return CrossEncoderScorer(model, backend=backend, batch_size=batch_size, calibration="auto" if calibrated else None)


def _load(dataset: Path, split: str):  # type: ignore[no-untyped-def]
    from crossrank.data import load_beir

    return load_beir(dataset, split)


def _print_metrics(result) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"{result.summary['dataset']} / {result.summary['split']} ({result.table.queries} queries)")
    table.add_column("run")
    for metric in result.table.metrics:
        table.add_column(metric, justify="right")
    for name, scores in result.table.scores.items():
        table.add_row(name, *[f"{scores[m]:.4f}" for m in result.table.metrics])
    console.print(table)


def eval_command(
    dataset: Path = typer.Argument(
        SAMPLE_DATA,
        help="BEIR-layout folder: corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv.",
        show_default=_SAMPLE_HELP,
    ),
    split: str = typer.Option("test", help="qrels split to evaluate."),
    model: str | None = typer.Option(None, help="Cross-encoder (path or hub id); default: the shipped model."),
    backend: str = typer.Option("auto", help="auto (onnx int8 on a CPU, torch on a GPU), onnx or torch."),
    first_stage: str = typer.Option("bm25", help="bm25, dense, hybrid or run (with --run-file)."),
    run_file: Path | None = typer.Option(None, help="TREC run file used as the first stage."),
    top_k: int = typer.Option(100, min=1, help="Candidates per query passed to the reranker."),
    max_queries: int | None = typer.Option(None, min=1, help="Only the first N judged queries (by id)."),
    fusion: str = typer.Option("rrf", help="ranx fusion of first-stage and rerank scores (rrf, wsum, ...)."),
    encoder: str | None = typer.Option(None, help="Bi-encoder for dense/hybrid; default all-MiniLM-L6-v2."),
    qdrant_path: Path | None = typer.Option(None, help="On-disk embedded Qdrant folder (default: in memory)."),
    batch_size: int | None = typer.Option(None, min=1, help="Scorer batch size (default: the backend's)."),
    out: Path = typer.Option(Path("eval-results"), help="Folder for results.json, report.md and plots."),
    thresholds: bool = typer.Option(True, help="Also sweep the relevance threshold."),
    save_run: bool = typer.Option(True, help="Write the first-stage, reranked and fused runs in TREC format."),
) -> None:
    """Evaluate reranking on a labelled dataset: first stage vs reranked vs fused, plus a threshold sweep."""
    from crossrank.cli import require_packages
    from crossrank.data import save_trec_run
    from crossrank.evaluation.evaluate import evaluate_dataset
    from crossrank.evaluation.first_stage import FIRST_STAGES
    from crossrank.evaluation.report import write_report

    # What can be checked without the model is checked first: loading it takes seconds.
    if first_stage not in FIRST_STAGES:
        raise typer.BadParameter(f"{first_stage!r}; choose one of {', '.join(FIRST_STAGES)}", param_hint="--first-stage")
    if first_stage == "run" and run_file is None:
        raise typer.BadParameter("--first-stage run needs --run-file", param_hint="--run-file")
    keyword = ("bm25s", "Stemmer") if first_stage in ("bm25", "hybrid") else ()
    vectors = ("qdrant_client",) if first_stage in ("dense", "hybrid") else ()
    require_packages("ranx", "matplotlib", *keyword, *vectors)
    data = _load(dataset, split)
    scorer = _scorer(model, backend, batch_size)
    console.print(
        f"{data.name}/{split}: {len(data.queries)} judged queries, {len(data.corpus)} documents; "
        f"model {scorer.model_name} ({scorer.backend.name})"
    )
    result = evaluate_dataset(
        scorer,
        data,
        first_stage,
        top_k_candidates=top_k,
        max_queries=max_queries,
        fusion=fusion,
        run_file=run_file,
        encoder=encoder,
        qdrant_path=qdrant_path,
        thresholds=thresholds,
        show_progress_bar=True,
    )
    files = write_report(out, result.summary, result.table, result.thresholds, result.baseline)
    if save_run:
        for name, run in result.runs.items():
            slug = name.split(" ")[0]
            files[f"run_{slug}"] = save_trec_run(run, out / f"{slug}.run", tag=slug)
    _print_metrics(result)
    if result.thresholds is not None:
        suggestion = result.thresholds.suggest(0.1)
        if suggestion is not None:
            console.print(
                f"Gate: min_probability={suggestion.threshold:.2f} lets {suggestion.let_through_irrelevant:.0%} "
                f"of irrelevant top passages through and withholds {suggestion.withheld_relevant:.0%} of relevant ones."
            )
    console.print("Wrote " + ", ".join(str(p) for p in files.values()))


def calibrate_command(
    dataset: Path = typer.Argument(
        ..., help="BEIR-layout folder with labelled queries, or (with --questions) a folder of your documents."
    ),
    questions: Path | None = typer.Option(
        None,
        help="A .jsonl of questions about DATASET's documents, one {\"question\", \"source\"} per line (source: "
        "the file that answers it, or null): fits the gate's threshold to your folder.",
    ),
    plot: Path = typer.Option(Path("crossrank-gate-sweep.png"), help="With --questions: the sweep plot's PNG."),
    fit_split: str = typer.Option("train", help="qrels split to fit on."),
    eval_split: str = typer.Option("test", help="qrels split to measure ECE and pick the threshold on."),
    model: str | None = typer.Option(None, help="Cross-encoder (path or hub id); default: the shipped model."),
    backend: str = typer.Option("auto", help="auto (onnx int8 on a CPU, torch on a GPU), onnx or torch."),
    method: str = typer.Option("platt", help="platt (slope and offset) or temperature (slope only)."),
    top_k: int = typer.Option(20, min=1, help="BM25 candidates per query used as labelled pairs."),
    max_queries: int | None = typer.Option(200, min=1, help="Judged queries per split (first N by id)."),
    target_precision: float = typer.Option(0.8, min=0.01, max=1.0, help="Precision the suggested threshold must reach."),
    save: bool = typer.Option(False, help="Save crossrank_calibration.json beside the model (then applied automatically)."),
    out: Path | None = typer.Option(None, help="Also write the report as JSON here."),
) -> None:
    """Fit temperature or Platt scaling on labelled pairs, report ECE before/after, suggest a threshold.

    With --questions, fit the relevance threshold to a folder of your own documents instead.
    """
    if questions is not None:
        _calibrate_folder(dataset, questions, model, backend, top_k, target_precision, save, out, plot)
        return
    from crossrank.cli import require_packages
    from crossrank.evaluation.calibration import calibrate, labelled_pairs
    from crossrank.evaluation.evaluate import first_stage_run, select_queries
    from crossrank.evaluation.rerank import rerank_run

    if method not in ("platt", "temperature"):
        raise typer.BadParameter(f"unknown method {method!r}; choose platt or temperature", param_hint="--method")
    # Packages and both splits are checked before the model loads, so these mistakes fail at once.
    require_packages("bm25s", "Stemmer")
    splits = [(split, _load(dataset, split)) for split in (fit_split, eval_split)]
    scorer = _scorer(model, backend, None, calibrated=False)
    pairs = []
    for split, data in splits:
        queries = select_queries(data, max_queries)
        candidates = first_stage_run(data, queries, "bm25", top_k)
        console.print(f"scoring {split}: {len(queries)} queries x {top_k} BM25 candidates")
        reranked = rerank_run(scorer, queries, data.passages(), candidates, show_progress_bar=True)
        pairs.append(labelled_pairs(reranked.logits, {q: data.qrels[q] for q in queries}))
    report = calibrate(*pairs[0], *pairs[1], method=method, target_precision=target_precision)  # type: ignore[arg-type]
    cal = report.calibration
    console.print(
        f"{cal.method}: probability = sigmoid({cal.a:.4f} * logit + {cal.b:.4f}); fitted on {report.fit_pairs} "
        f"pairs ({report.fit_positives} relevant)"
    )
    console.print(
        f"ECE on {eval_split} ({report.eval_pairs} pairs): {report.ece_before:.4f} before -> {report.ece_after:.4f} after"
    )
    if report.suggested_threshold is None:
        console.print(f"No threshold reaches precision {target_precision:.2f} on {eval_split}.")
    else:
        console.print(
            f"Suggested min_probability for precision >= {target_precision:.2f}: {report.suggested_threshold:.3f}"
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"model": scorer.model_name, **report.to_dict()}, indent=2) + "\n", encoding="utf-8")
        console.print(f"Wrote {out}")
    if save:
        # Fitted on the user's own labelled data: surfaces report the threshold as "fitted".
        path = replace(cal, source="fitted").save(scorer.backend.model_path)
        console.print(
            f"Saved {path}; scorers of this model now apply it automatically"
            + ("" if cal.threshold is None else f" and gate at {cal.threshold:.3f} by default")
            + "."
        )


def _calibrate_folder(  # type: ignore[no-untyped-def]
    folder: Path, questions_file: Path, model, backend: str, top_k: int, target_precision: float,
    save: bool, out: Path | None, plot: Path,
) -> None:
    """The folder mode of ``calibrate``: chunks, dense first stage, rerank, per-question sweep."""
    from crossrank.calibration import Calibration
    from crossrank.cli import require_packages
    from crossrank.evaluation.first_stage import dense_run
    from crossrank.evaluation.gate_fit import fit_gate, load_questions, plot_gate_sweep, question_outcomes
    from crossrank.evaluation.rerank import rerank_run
    from crossrank.rag.ingest import read_chunks
    from crossrank.rag.settings import RagSettings

    if not folder.is_dir():
        raise typer.BadParameter(f"{folder}: not a folder of documents", param_hint="DATASET")
    require_packages("matplotlib", "sklearn")
    labelled = load_questions(questions_file, folder)  # every mistake in the file is reported before any model loads
    chunks, skipped = read_chunks([folder], RagSettings())
    for message in skipped:
        console.print(f"skipped {message}")
    if len(chunks) < 2:
        raise typer.BadParameter(f"{folder}: {len(chunks)} chunk(s) of text found; calibrating needs a collection")
    queries = {f"q{i}": q.question for i, q in enumerate(labelled)}
    scorer = _scorer(model, backend, None)
    console.print(f"{len(labelled)} questions over {len(chunks)} chunks: dense top {top_k}, reranked")
    candidates = dense_run(chunks, queries, k=top_k)
    reranked = rerank_run(scorer, queries, chunks, candidates, show_progress_bar=True)
    fit = fit_gate(
        *question_outcomes(labelled, reranked.probabilities, reranked.logits, candidates),
        target_precision=target_precision,
    )
    auc = "n/a" if fit.auc_probability is None else f"{fit.auc_probability:.3f}"
    base = "n/a" if fit.auc_first_stage is None else f"{fit.auc_first_stage:.3f}"
    console.print(
        f"Answerable vs not ({fit.answerable} of {fit.questions}): ROC AUC {auc} for the reranker's best "
        f"probability, {base} for the first stage's best cosine."
    )
    current = scorer.recommended_gate
    if current is not None:
        console.print(f"The model's own threshold: {current.threshold:.3f} ({current.source}).")
    if fit.threshold is None:
        console.print(f"No threshold reaches precision {target_precision:.2f} on these questions; nothing to save.")
    else:
        console.print(
            f"Fitted min_probability for precision >= {target_precision:.2f}: {fit.threshold:.3f} "
            f"(precision {fit.precision:.2f}, recall {fit.recall:.2f} on these questions)"
        )
    console.print(f"Wrote {plot_gate_sweep(fit, plot, title=f'Gate sweep: {folder.name}')}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        body = {"model": scorer.model_name, "folder": str(folder), "chunks": len(chunks), **fit.to_dict()}
        out.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        console.print(f"Wrote {out}")
    if save and fit.threshold is not None:
        # The probability mapping stays the model's; only the recommended threshold is refitted.
        mapping = scorer.calibration or Calibration()
        saved = replace(mapping, threshold=fit.threshold, precision=fit.target_precision, source="fitted")
        path = saved.save(scorer.backend.model_path)
        console.print(f"Saved {path}; every surface now gates this model at {fit.threshold:.3f} by default (fitted).")


def bench_command(
    model: str | None = typer.Option(None, help="Cross-encoder directory; default: the shipped model."),
    dataset: Path = typer.Option(
        SAMPLE_DATA, help="BEIR-layout folder whose passages are reranked.", show_default=_SAMPLE_HELP
    ),
    queries: int = typer.Option(20, min=1, help="Queries (each reranks --candidates passages)."),
    candidates: int = typer.Option(50, min=1, help="Candidates per query."),
    backend: str = typer.Option("onnx", help="crossrank's backend: onnx (best on CPU) or torch."),
    max_length: int | None = typer.Option(None, min=8, help="crossrank window size (default: the model's)."),
    repeats: int = typer.Option(1, min=1, help="Passes over the queries."),
    quick: bool = typer.Option(False, help="A smoke run: 2 queries x 8 candidates, one process, seconds."),
    out: Path | None = typer.Option(None, help="Write the results as JSON here."),
    curve: bool | None = typer.Option(
        None, "--curve/--no-curve", help="Also the cost curve: p50 vs candidates and passage length.",
        show_default="on, off with --quick",
    ),
    plot: Path = typer.Option(Path("crossrank-cost-curve.png"), help="Where the cost curve's PNG is written."),
    baseline_model: str | None = typer.Option(
        None, help="Standard cross-encoder for the curve's CrossEncoder.predict line (needed when --model is "
        "crossrank's late-interaction format, which CrossEncoder cannot load).",
    ),
    curve_repeats: int = typer.Option(3, min=1, help="Timed calls per cost-curve point (p50 over them)."),
) -> None:
    """Speed: CrossEncoder.predict (defaults) vs crossrank's best CPU settings, adapter overhead, cost curve."""
    from crossrank import resolve_model
    from crossrank.cli import require_packages
    from crossrank.evaluation.speed import compare, markdown

    # The adapters' frameworks and the ONNX runtime are needed by every engine run; a
    # missing one would otherwise only surface in a subprocess, after the baseline ran.
    require_packages("langchain_core", "llama_index.core", *(("onnxruntime", "onnx") if backend == "onnx" else ()))
    if not dataset.is_dir():
        raise typer.BadParameter(f"{dataset} is not a directory; pass a BEIR dataset folder", param_hint="--dataset")
    path = resolve_model(model).path
    if quick:
        queries, candidates, repeats = 2, 8, 1
    report = compare(
        path,
        dataset,
        queries=queries,
        candidates=candidates,
        backend=backend,
        repeats=repeats,
        isolated=not quick,
        max_length=max_length,
        progress=lambda name: console.print(f"measuring {name} ..."),
    )
    console.print(markdown(report))
    console.print(f"machine: {report['machine']}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        console.print(f"Wrote {out}")
    if (not quick) if curve is None else curve:
        _bench_curve(path, dataset, baseline_model, curve_repeats, quick, plot, out)


def _bench_curve(
    model: str, dataset: Path, baseline_model: str | None, repeats: int, quick: bool, plot: Path, out: Path | None
) -> None:
    """The cost curve part of ``crossrank bench``: table, PNG and (with ``--out``) ``<out>.curve.json``."""
    from crossrank.evaluation.speed import curve as cost_curve
    from crossrank.evaluation.speed import curve_markdown, plot_curve

    small = {"candidates": [2, 4], "lengths": [16, 32], "fixed_length": 16, "fixed_candidates": 2, "repeats": 1}
    report = cost_curve(
        model, dataset, baseline_model=baseline_model, isolated=not quick,
        progress=lambda name: console.print(f"cost curve: measuring {name} ..."),
        **(small if quick else {"repeats": repeats}),  # type: ignore[arg-type]
    )  # fmt: skip
    console.print(curve_markdown(report))
    if report["results"]:
        console.print(f"Wrote {plot_curve(report, plot)}")
    if out is not None:
        path = out.with_suffix(".curve.json")
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        console.print(f"Wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``eval``, ``calibrate`` and ``bench`` to the ``crossrank`` command line."""
    app.command("eval")(eval_command)
    app.command("calibrate")(calibrate_command)
    app.command("bench")(bench_command)
