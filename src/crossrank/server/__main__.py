"""``python -m crossrank.server [flags]``: the same as ``crossrank serve``."""

from crossrank.server.cli import main

main()
