"""``crossrank rerank``: score and gate passages from the command line.

Example:
    $ crossrank rerank "How do I reset my password?" \\
        "Click 'Forgot password' on the login screen." "Use a strong password."   # the model's threshold
    $ crossrank rerank "..." "..." --min-probability 0.3    # or none: ungated
    $ crossrank rerank "tax rules for freelancers" --file passages.txt --json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def _read_passages(file: Path) -> list[str]:
    """One passage per line (.txt) or one JSON object with a "text" field per line (.jsonl)."""
    if file.suffix != ".jsonl":
        return [line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    from crossrank.data import (  # the one JSONL reader; stdlib only, so --help stays light
        DatasetError,
        iter_jsonl,
    )

    passages: list[str] = []
    try:
        records = list(iter_jsonl(file))
    except DatasetError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for number, record in records:
        text = record.get("text")
        if not isinstance(text, str):
            raise typer.BadParameter(f'{file}:{number}: expected an object with a string "text" field')
        passages.append(text)
    return passages


def rerank(
    query: Annotated[str, typer.Argument(help="The question.")],
    passages: Annotated[list[str] | None, typer.Argument(help="Passages to rank (or use --file).")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            exists=True,
            dir_okay=False,
            help="Passages: .txt one per line, or .jsonl with a text field.",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model path or hub id (default: the shipped model).")
    ] = None,
    backend: Annotated[
        str, typer.Option(help="auto (onnx int8 on a CPU, torch on a GPU), onnx or torch.")
    ] = "auto",
    top_n: Annotated[int | None, typer.Option(help="Keep at most this many.")] = None,
    min_probability: Annotated[
        str,
        typer.Option(
            help="Relevance threshold: a probability in [0, 1], 'model' (the model's recommended threshold) "
            "or 'none' (ungated)."
        ),
    ] = "model",
    min_relative: Annotated[float | None, typer.Option(help="Fraction of the best score to keep.")] = None,
    min_keep: Annotated[int, typer.Option(help="Always keep this many, flagged when below threshold.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
) -> None:
    """Rerank passages for a query and say whether any is relevant enough."""
    from crossrank.inputs import check_query
    from crossrank.models import resolve_model
    from crossrank.policy import RelevancePolicy, parse_threshold

    # Everything the user typed is checked before the model, or even torch, loads (seconds
    # on a CPU): the query, the passages, the policy, and that the model is there.
    check_query(query)
    texts = list(passages or [])
    if file is not None:
        texts += _read_passages(file)
    if not texts:
        raise typer.BadParameter("give passages as arguments or with --file")
    try:
        threshold = parse_threshold(min_probability, "min_probability (--min-probability)")
        policy = RelevancePolicy(
            top_n=top_n, min_probability=threshold, min_relative=min_relative, min_keep=min_keep
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    resolve_model(model)  # ModelNotAvailableError (one line in crossrank.cli) before any heavy import
    from crossrank.scorer import CrossEncoderScorer

    result = CrossEncoderScorer(model, backend=backend).rerank(query, texts, policy)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    gate = result.gate
    title = f"verdict: {result.verdict.value}" + (
        f" (threshold {gate.threshold:.2f}, {gate.source})"
        if gate.threshold is not None
        else " (no threshold)"
    )
    table = Table(title=title)
    for column in ("rank", "input #", "probability", "logit", "kept", "passage"):
        table.add_column(column)
    kept = {d.index for d in result.kept}
    for doc in result.ranked:
        status = "yes" if doc.index in kept else f"no ({doc.drop_reason})"
        table.add_row(
            str(doc.rank), str(doc.index), f"{doc.probability:.3f}", f"{doc.logit:.2f}", status, doc.text[:80]
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add the ``rerank`` command to the CLI."""
    app.command("rerank")(rerank)
