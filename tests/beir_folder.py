"""A small BEIR-layout dataset written by the tests themselves (no shared data needed).

The ``beir_dir`` fixture is registered in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tiny_model import QA


def write_beir(folder: Path, with_header: bool = True) -> Path:
    """Corpus = every passage of the tiny model's QA list; query i's relevant doc is ``pos<i>``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    with (folder / "corpus.jsonl").open("w") as handle:
        for i, (_, positive, negative) in enumerate(QA):
            handle.write(json.dumps({"_id": f"pos{i}", "title": "", "text": positive}) + "\n")
            handle.write(json.dumps({"_id": f"neg{i}", "title": "", "text": negative}) + "\n")
    with (folder / "queries.jsonl").open("w") as handle:
        for i, (query, _, _) in enumerate(QA):
            handle.write(json.dumps({"_id": f"q{i:02d}", "text": query}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"] if with_header else []
    lines += [f"q{i:02d}\tpos{i}\t1" for i in range(len(QA))]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return folder
