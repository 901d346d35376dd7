"""TREC run files: one ``query-id Q0 doc-id rank score tag`` line per retrieved document.

Example:
    ```python
    from crossrank.data import load_trec_run, save_trec_run

    save_trec_run({"q1": {"d1": 2.0, "d2": 1.0}}, "bm25.run")
    load_trec_run("bm25.run")
    # -> {'q1': {'d1': 2.0, 'd2': 1.0}}
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from crossrank.data.beir import DatasetError, Run, open_text


def load_trec_run(path: str | Path) -> Run:
    """Read a TREC run file (``qid Q0 docid rank score tag``, whitespace-separated).

    Example:
        ```python
        run = load_trec_run("bm25.run")
        ```
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: run file not found")
    run: Run = {}
    with open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 6:
                raise DatasetError(
                    f"{path}:{line_no}: expected 6 columns (query-id Q0 doc-id rank score tag), "
                    f"got {len(parts)}: {line.strip()!r:.80}"
                )
            query_id, _, doc_id, rank, score, _ = parts
            try:
                int(rank)
                value = float(score)
            except ValueError:
                raise DatasetError(
                    f"{path}:{line_no}: rank {rank!r} or score {score!r} is not a number"
                ) from None
            docs = run.setdefault(query_id, {})
            if doc_id in docs:
                raise DatasetError(
                    f"{path}:{line_no}: document {doc_id!r} appears twice for query {query_id!r}"
                )
            docs[doc_id] = value
    if not run:
        raise DatasetError(f"{path}: the run file is empty")
    return run


def save_trec_run(run: Mapping[str, Mapping[str, float]], path: str | Path, tag: str = "crossrank") -> Path:
    """Write a run in TREC format, documents sorted by score (ties by doc id, so output is deterministic).

    Example:
        ```python
        save_trec_run({"q1": {"d1": 2.0, "d2": 1.0}}, "out.run")
        ```
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for query_id in sorted(run):
            ranked = sorted(run[query_id].items(), key=lambda item: (-item[1], item[0]))
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                handle.write(f"{query_id} Q0 {doc_id} {rank} {score:.6f} {tag}\n")
    return path
