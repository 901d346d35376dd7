"""The checks CI runs beside the tests: layer contracts, lint and types.

They run as tests so the README's one test command (``.venv/bin/pytest``) covers them;
the tools come with the ``test`` extra. Each failure prints the tool's own report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; it comes with the test extra: pip install -e '.[test]'")
    return path


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_layer_contracts_hold() -> None:
    result = _run(_tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_ruff_finds_nothing() -> None:
    result = _run(_tool("ruff"), "check", "--no-cache", "src", "tests", "bench", "examples", "models")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_package_type_checks() -> None:
    result = _run(_tool("mypy"), "src/crossrank")
    assert result.returncode == 0, result.stdout + result.stderr
