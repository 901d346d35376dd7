"""The ``crossrank`` entry point: lazy start-up, the command list, ``python -m crossrank``, one-line errors."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys

import pytest
import typer
from cli_helpers import error_line
from typer.testing import CliRunner

from crossrank.cli import AREAS, app, commands, load_command

runner = CliRunner()

HEAVY = ("torch", "transformers", "sentence_transformers", "qdrant_client", "fastapi", "numpy", "pydantic")


def _loaded_after(argv: list[str], libraries: tuple[str, ...]) -> tuple[list[str], str]:
    """Which of ``libraries`` ``crossrank <argv>`` imported, run in a fresh interpreter; and its stdout."""
    code = (
        "import sys\n"
        "from crossrank.cli import main\n"
        f"sys.argv = ['crossrank', *{argv!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED', sorted(m for m in {libraries!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.rsplit("LOADED ", 1)[-1].strip()
    return ast.literal_eval(loaded), out.stdout + out.stderr


def test_help_imports_no_heavy_library() -> None:
    loaded, output = _loaded_after(["--help"], HEAVY)
    assert loaded == [], output
    assert "rerank" in output


@pytest.mark.parametrize("command", commands())
def test_each_commands_help_imports_no_model_or_server_library(command: str) -> None:
    # A command's help loads its module, not the libraries it uses when it runs
    # (``ask --help`` took 2.3 s while crossrank.rag imported Qdrant and transformers).
    heavy = ("torch", "transformers", "sentence_transformers", "qdrant_client", "fastapi", "uvicorn")
    loaded, output = _loaded_after([command, "--help"], heavy)
    assert loaded == [], output


def test_python_dash_m_crossrank_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crossrank", "--help"],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stderr
    for name in commands():
        assert f" {name} " in out.stdout


def test_the_listed_commands_are_exactly_the_registered_ones_with_their_own_summaries() -> None:
    # The list is read from the areas' source without importing them; it must match
    # what their register() really adds, name for name and docstring for docstring.
    listed = commands()
    registered: list[str] = []
    for module in AREAS:
        area = typer.Typer()
        importlib.import_module(module).register(area)
        registered += [info.name or "" for info in area.registered_commands]
    assert list(listed) == registered
    for name, spec in listed.items():
        real = " ".join((load_command(name).help or "").strip().split("\n\n")[0].split())
        assert spec.summary == real, name


def test_flags_show_no_value_in_help() -> None:
    for args in (["--help"], ["ask", "--help"], ["eval", "--help"]):
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        flag_lines = [line for line in result.output.splitlines() if "--help" in line or "--json" in line
                      or "--thresholds" in line]  # fmt: skip
        assert flag_lines and not any("<bool>" in line for line in flag_lines), result.output


def test_unknown_command_is_one_line_with_a_suggestion() -> None:
    result = runner.invoke(app, ["rernak", "q"])
    assert result.exit_code == 2
    assert "Did you mean 'rerank'?" in error_line(result)


def test_a_bad_flag_value_is_one_line_naming_the_flag_and_the_help() -> None:
    result = runner.invoke(app, ["serve", "--max-batch-size", "0"])
    assert result.exit_code == 2
    line = error_line(result)
    assert "max_batch_size" in line and "crossrank serve --help" in line


def test_crossrank_debug_keeps_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "query is empty" in error_line(runner.invoke(app, ["rerank", " ", "p"]))
    monkeypatch.setenv("CROSSRANK_DEBUG", "1")
    result = runner.invoke(app, ["rerank", " ", "p"])
    assert isinstance(result.exception, ValueError) and "query is empty" in str(result.exception)
