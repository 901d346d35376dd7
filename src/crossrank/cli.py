"""The ``crossrank`` command line: one entry point, one subcommand per area.

Each area (training, evaluation, RAG, server, ...) keeps its own commands in its
own module and exposes ``register(app)``; this file only wires them together, so
that importing the CLI of one area never loads the heavy dependencies of another.

Example:
    $ crossrank --help
    $ crossrank score "how do I reset my password?" "Click 'Forgot password'." "Use a strong password."
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="crossrank",
    help="Cross-encoder reranking with a relevance gate for RAG.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# Modules that define ``register(app: typer.Typer) -> None``. Add one line per area.
_AREAS: tuple[str, ...] = (
    "crossrank.scoring_cli",
    "crossrank.rag.cli",
    "crossrank.training.cli",
    "crossrank.server.cli",
    "crossrank.evaluation.cli",
)


def _register_areas() -> None:
    for module_name in _AREAS:
        importlib.import_module(module_name).register(app)


_register_areas()


def main() -> None:
    """Run the ``crossrank`` command line."""
    app()


if __name__ == "__main__":
    main()
