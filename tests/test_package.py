"""The package surface: typed, and importing it pulls in no framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_importing_crossrank_imports_neither_framework():
    code = (
        "import sys, crossrank\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain', 'llama_index')]\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_package_is_typed():
    import crossrank

    assert (Path(crossrank.__file__).parent / "py.typed").is_file()
