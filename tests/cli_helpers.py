"""Checks shared by the command-line tests: an error is one line, never a traceback."""

from __future__ import annotations

from typing import Any


def error_line(result: Any) -> str:
    """The single line a failed command printed, after checking it is only that line.

    Example:
        message = error_line(CliRunner().invoke(app, ["rerank", ""]))
        assert "query is empty" in message
    """
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output, result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    return lines[0]
