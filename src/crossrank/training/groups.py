"""Training groups (a query, its positives and mined negatives) and their labels.

A group is the unit every loss works on: pointwise losses flatten it into pairs,
listwise losses keep it whole. Labels can mix the human judgement with a bi-encoder
teacher's score (distillation), so the cross-encoder starts from what the teacher knows.

Example:
    ```python
    from crossrank.data import BeirDataset
    data = BeirDataset.from_texts({"a": "cats purr", "b": "dogs bark"}, {"q": "cats"}, {"q": {"a": 1}})
    groups = build_groups(data, {"q": ["b"]})
    groups[0].passages, groups[0].labels
    # -> (['cats purr', 'dogs bark'], [1.0, 0.0])
    ```
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crossrank.calibration import fit_platt, sigmoid
from crossrank.data import BeirDataset, DatasetError


@dataclass
class TrainingGroup:
    """One query with candidate passages, hard labels and (optionally) teacher scores.

    Attributes:
        query: the query text.
        passages: candidate passages, positives first.
        labels: human labels in [0, 1], one per passage.
        teacher: the teacher's raw scores (e.g. cosine similarity), one per passage, or empty.
    """

    query: str
    passages: list[str]
    labels: list[float]
    teacher: list[float] = field(default_factory=list)


def build_groups(data: BeirDataset, negatives: dict[str, list[str]]) -> list[TrainingGroup]:
    """Turn judged queries and mined negatives into :class:`TrainingGroup` objects.

    Passages judged with grade 0 stay in the group as labelled negatives; queries without
    a positive are skipped because they teach nothing about what relevant looks like.

    Example:
        ```python
        d = BeirDataset.from_texts({"a": "x", "b": "y"}, {"q": "x?"}, {"q": {"a": 1, "b": 0}})
        build_groups(d, {"q": []})[0].labels
        # -> [1.0, 0.0]
        ```
    """
    groups: list[TrainingGroup] = []
    passages = data.passages()
    for qid, query in data.queries.items():
        judged = data.qrels.get(qid, {})
        positives = [d for d, grade in judged.items() if grade > 0]
        if not positives:
            continue
        judged_negatives = [d for d, grade in judged.items() if grade <= 0]
        mined = [d for d in negatives.get(qid, []) if d not in judged]
        doc_ids = positives + judged_negatives + mined
        labels = [1.0] * len(positives) + [0.0] * (len(judged_negatives) + len(mined))
        groups.append(TrainingGroup(query, [passages[d] for d in doc_ids], labels))
    return groups


def add_teacher_scores(groups: Sequence[TrainingGroup], teacher: str, batch_size: int = 32) -> None:
    """Score every (query, passage) with a bi-encoder ``teacher`` (cosine similarity), in place.

    Each distinct text is encoded once, so the cost is the number of distinct passages,
    not the number of pairs.

    Example:
        ```python
        add_teacher_scores(groups, "/path/to/all-mpnet-base-v2")
        ```
    """
    from crossrank.retrieval.embed import load_embedder

    encoder = load_embedder(str(teacher))
    queries = sorted({g.query for g in groups})
    passages = sorted({p for g in groups for p in g.passages})
    query_emb = encoder.encode(queries, batch_size=batch_size, show_progress=True)
    passage_emb = encoder.encode(passages, batch_size=batch_size, show_progress=True)
    query_index = {q: i for i, q in enumerate(queries)}
    passage_index = {p: i for i, p in enumerate(passages)}
    for group in groups:
        q = query_emb[query_index[group.query]]
        group.teacher = [float(q @ passage_emb[passage_index[p]]) for p in group.passages]


def soft_labels(
    groups: Sequence[TrainingGroup], teacher_weight: float
) -> tuple[list[list[float]], dict[str, float]]:
    """Mix human labels with calibrated teacher probabilities: ``w * teacher + (1 - w) * human``.

    Returns the mixed labels per group and the fitted Platt parameters (for the model card).

    Example:
        ```python
        g = [TrainingGroup("q", ["a", "b"], [1.0, 0.0], [0.9, 0.1])]
        labels, _ = soft_labels(g, teacher_weight=0.0)
        labels
        # -> [[1.0, 0.0]]
        ```
    """
    if not 0.0 <= teacher_weight <= 1.0:
        raise ValueError(f"teacher_weight must be in [0, 1], got {teacher_weight}")
    if teacher_weight == 0.0 or not groups or not groups[0].teacher:
        return [list(g.labels) for g in groups], {}
    a, b = fit_platt([s for g in groups for s in g.teacher], [y for g in groups for y in g.labels])
    mixed = [
        [
            teacher_weight * sigmoid(a * s + b) + (1.0 - teacher_weight) * y
            for s, y in zip(g.teacher, g.labels)
        ]
        for g in groups
    ]
    return mixed, {"platt_a": a, "platt_b": b}


def save_groups(groups: Sequence[TrainingGroup], path: str | Path) -> None:
    """Write groups as JSON lines, so mining and teacher scoring run once per data set.

    Example:
        ```python
        save_groups(groups, "runs/groups.jsonl")
        ```
    """
    with Path(path).open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(asdict(group), ensure_ascii=False) + "\n" for group in groups)


def load_groups(path: str | Path) -> list[TrainingGroup]:
    """Read groups written by :func:`save_groups`.

    Example:
        ```python
        groups = load_groups("runs/groups.jsonl")
        ```
    """
    file = Path(path)
    groups: list[TrainingGroup] = []
    with file.open("r", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                groups.append(TrainingGroup(**json.loads(line)))
            except (json.JSONDecodeError, TypeError) as error:
                raise DatasetError(f"{file}:{line_no}: not a training group ({error})") from error
    return groups
