"""Distillation and adaptation on a tiny corpus: a few real optimiser steps, a model the scorer loads."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = {
    f"d{i}": text
    for i, text in enumerate(
        [
            "Qdrant stores vectors and runs embedded in the process or as a separate server.",
            "BM25 ranks documents by how often the query terms occur, damped by document length.",
            "A cross-encoder reads the query and the passage together and outputs one relevance score.",
            "The relevance gate refuses to answer when no passage scores above the threshold.",
            "Passwords can be reset from the login screen with the Forgot Password link.",
            "Calibration maps raw logits to probabilities that match observed precision.",
            "Mercury is a metal that is liquid at room temperature and boils at 357 degrees Celsius.",
            "The server batches requests from many clients into one model call to use the cores well.",
        ]
    )
}


def test_pseudo_queries_cover_the_styles_and_name_their_source() -> None:
    from crossrank.training.transfer import pseudo_queries

    titles = {d: f"Heading {d}" for d in CORPUS}
    queries = pseudo_queries(CORPUS, n=8, pool="docs", titles=titles)
    assert {q.style for q in queries} == {"sentence", "terms", "span", "title"}
    for q in queries:
        assert q.text and q.positives and q.positives[0] in CORPUS
    with pytest.raises(ValueError, match="unknown pseudo-query style"):
        pseudo_queries(CORPUS, n=2, pool="docs", styles=("haiku",))


def test_groups_put_the_positive_first_and_never_repeat_it(base_model_dir: str) -> None:
    from crossrank.training.transfer import TransferQuery, build_groups_from_candidates, mine_candidates

    queries = [TransferQuery("q", "how do I reset my password", "question", "docs", ("d4",))]
    candidates = mine_candidates(CORPUS, queries, depth=5, bi_encoder=base_model_dir)
    groups = build_groups_from_candidates(queries, CORPUS, candidates, group_size=4)
    assert groups[0].passages[0] == CORPUS["d4"] and groups[0].labels[0] == 1.0
    assert groups[0].passages.count(CORPUS["d4"]) == 1 and len(groups[0].passages) == 4


def test_teacher_cache_encodes_each_text_once(base_model_dir: str, tmp_path: Path) -> None:
    from crossrank.training.teacher import TeacherCache

    cache = TeacherCache(tmp_path, base_model_dir)
    scores = cache.score([("reset password", [CORPUS["d4"], CORPUS["d6"]])])
    assert scores[0][0] > scores[0][1]
    again = TeacherCache(tmp_path, base_model_dir)  # a new process: read from disk
    assert len(again) == 3 and again.add([CORPUS["d4"], "reset password"]) == 0


def test_adapt_trains_a_model_the_scorer_loads_and_resumes(base_model_dir: str, tmp_path: Path) -> None:
    from crossrank import CrossEncoderScorer
    from crossrank.training.adapt import adapt
    from crossrank.training.distil import DistilConfig, latest_checkpoint

    config = DistilConfig(max_steps=2, batch_queries=2, checkpoint_every=1, max_length=64)
    summary = adapt(CORPUS, tmp_path / "out", base=base_model_dir, config=config, group_size=4)
    assert summary.steps == 2 and summary.groups >= 4
    assert latest_checkpoint(tmp_path / "out").name == "checkpoint-2"
    scores = CrossEncoderScorer(summary.output_dir, device="cpu").score("reset my password", list(CORPUS.values()))
    assert all(isinstance(s.probability, float) for s in scores)
    # A rerun of a finished run resumes at its last checkpoint and takes no further step.
    again = adapt(CORPUS, tmp_path / "out", base=base_model_dir, config=config, group_size=4)
    assert again.steps == 2


def test_adapt_refuses_an_empty_collection(tmp_path: Path) -> None:
    from crossrank.training.adapt import adapt

    with pytest.raises(ValueError, match="at least 2 passages"):
        adapt({"a": "  "}, tmp_path)
