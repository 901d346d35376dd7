"""How long ``crossrank`` commands take to start, and to fail on a mistake, from two source trees.

Each command runs ``--repeats`` times in a fresh interpreter (``python -c`` calling
``crossrank.cli.main``, what the ``crossrank`` console script does) with ``PYTHONPATH``
set to the tree's ``src/``, so an older commit checked out with ``git worktree`` gives
the "before" column in the same run. Reported: the median wall time per command and
tree, and the ratio. The commands are the ones a newcomer types first: the help
screens, and mistakes that need no model (an empty question, a missing model path).

Example:
    $ git worktree add /tmp/before_lazy bf33bb7^
    $ python bench/cli_startup.py --before /tmp/before_lazy --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: list[list[str]] = [
    ["--help"],
    ["rerank", "--help"],
    ["ask", "--help"],
    ["ask", ""],  # an empty question: refused before any model loads
    ["rerank", "q?", "a passage", "--model", "/nonexistent/model"],
]


def run_once(tree: Path, argv: list[str]) -> tuple[float, int]:
    """Seconds one ``crossrank <argv>`` took in a fresh interpreter, and its exit code."""
    code = f"import sys; sys.argv = ['crossrank', *{argv!r}]; from crossrank.cli import main; main()"
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd="/tmp", capture_output=True, check=False)
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="source tree of the older commit")
    parser.add_argument("--after", type=Path, default=ROOT, help="source tree measured against it")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"# median of {args.repeats} runs; before {args.before}, after {args.after}")
    print("| command | before s (exit) | after s (exit) | after / before |")
    print("|---|---|---|---|")
    for argv in COMMANDS:
        cells = []
        medians = []
        for tree in (args.before, args.after):
            runs = [run_once(tree, argv) for _ in range(args.repeats)]
            median = statistics.median(t for t, _ in runs)
            medians.append(median)
            cells.append(f"{median:.2f} ({runs[-1][1]})")
        shown = " ".join(repr(a) if a == "" else a for a in argv)
        print(
            f"| `crossrank {shown}` | {cells[0]} | {cells[1]} | {medians[1] / medians[0]:.2f} |", flush=True
        )


if __name__ == "__main__":
    main()
