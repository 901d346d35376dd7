"""The decision flow end to end: embedded Qdrant, the tiny real reranker, real generators."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from crossrank import Verdict
from crossrank.rag import ApiGenerator, RagPipeline, RagSettings, ingest


def _pipeline(settings: RagSettings, docs_folder: Path, **changes: object) -> RagPipeline:
    ingest([docs_folder], settings, show_progress=False)
    return RagPipeline.from_settings(settings.model_copy(update=changes))


def test_relevant_answers_with_numbered_sources_and_a_trace(
    rag_settings: RagSettings, docs_folder: Path
) -> None:
    answer = _pipeline(rag_settings, docs_folder).ask("How do I reset my password?")

    assert answer.verdict is Verdict.RELEVANT
    assert answer.answered and answer.warning is None and answer.message is None
    assert "Forgot Password" in answer.sources[0].text
    assert answer.sources[0].source.endswith("account.md") and answer.sources[0].title == "Account help"
    assert [s.number for s in answer.sources] == list(range(1, len(answer.sources) + 1))
    assert all(s.passed_threshold and s.relevance_score >= 0.5 for s in answer.sources)
    assert answer.text is not None and answer.text.startswith("[1] ")  # extractive answer cites its source
    assert answer.fallback == []

    trace = answer.trace
    assert trace.first_stage == "dense" and trace.top_k == 10
    assert [c.rerank_rank for c in trace.candidates] == list(range(1, len(trace.candidates) + 1))
    assert sorted(c.retrieval_rank for c in trace.candidates) == list(range(1, len(trace.candidates) + 1))
    assert all(c.moved == c.retrieval_rank - c.rerank_rank for c in trace.candidates)
    dropped = [c for c in trace.candidates if not c.kept]
    assert dropped and all(c.drop_reason == "below_min_probability" for c in dropped)
    assert {"retrieve", "rerank", "generate", "total"} <= set(trace.timings_ms)

    data = json.loads(json.dumps(answer.to_dict()))
    assert data["verdict"] == "relevant" and data["sources"][0]["number"] == 1
    assert isinstance(data["trace"]["candidates"][0]["relevance_score"], float)


def test_weak_answers_with_a_visible_warning(rag_settings: RagSettings, docs_folder: Path) -> None:
    # On-topic passages score ~0.96: a 0.99 threshold with a 0.5 weak band makes them weak.
    pipeline = _pipeline(rag_settings, docs_folder, min_probability=0.99, weak_min_probability=0.5)
    answer = pipeline.ask("How do I reset my password?")

    assert answer.verdict is Verdict.WEAK
    assert answer.answered and answer.text
    assert answer.warning is not None and "0.99" in answer.warning
    assert answer.sources and all(not s.passed_threshold for s in answer.sources)
    assert "Forgot Password" in answer.sources[0].text
    assert all(s.relevance_score >= 0.5 for s in answer.sources)  # only the band, not every candidate


def test_an_ungated_pipeline_answers_with_a_warning_and_never_says_relevant(
    rag_settings: RagSettings, docs_folder: Path
) -> None:
    answer = _pipeline(rag_settings, docs_folder, min_probability=None).ask("How do I reset my password?")
    assert answer.verdict is Verdict.UNGATED and answer.threshold is None and answer.threshold_source == "none"
    assert answer.answered and answer.warning is not None and "Ungated" in answer.warning
    assert len(answer.sources) == rag_settings.top_n  # kept by rank alone
    gated = _pipeline(rag_settings, docs_folder).ask("How do I reset my password?")
    assert (gated.threshold, gated.threshold_source) == (0.5, "user")


def test_weak_can_be_configured_to_refuse(rag_settings: RagSettings, docs_folder: Path) -> None:
    pipeline = _pipeline(
        rag_settings, docs_folder, min_probability=0.99, weak_min_probability=0.5, on_weak="refuse"
    )
    answer = pipeline.ask("How do I reset my password?")

    assert answer.verdict is Verdict.WEAK
    assert not answer.answered and answer.text is None and answer.sources == []
    assert answer.message is not None and "none is relevant enough" in answer.message
    assert answer.fallback and "Forgot Password" in answer.fallback[0].payload["text"]


def test_none_refuses_and_shows_keyword_matches(rag_settings: RagSettings, tmp_path: Path) -> None:
    # A corpus of passages the tiny model was trained to call irrelevant to this question
    # (tests/tiny_model.py); one shares the word "water" with it, so keyword search finds it.
    folder = tmp_path / "off_topic"
    folder.mkdir()
    (folder / "misc.txt").write_text(
        "The Roman Empire was ruled by emperors.\n\n"
        "Photosynthesis converts light, water and carbon dioxide into sugar and oxygen. "
        "Lasagna is an Italian pasta dish.\n\n"
        "Cheetahs can sprint at up to 110 kilometres per hour.\n",
        encoding="utf-8",
    )
    answer = _pipeline(rag_settings, folder).ask("What is the boiling point of water?")

    assert answer.verdict is Verdict.NONE
    assert not answer.answered and answer.text is None and answer.sources == []
    assert answer.best_probability is not None and answer.best_probability < 0.2
    assert answer.message is not None
    assert f"best relevance score is {answer.best_probability:.2f}" in answer.message
    assert "threshold 0.50" in answer.message and "No answer was generated" in answer.message
    # bm25s over the same corpus: the only chunk sharing a term with the question
    assert len(answer.fallback) == 1 and answer.fallback[0].payload["text"].startswith("Photosynthesis")
    assert all(not c.kept for c in answer.trace.candidates) and len(answer.trace.candidates) == 3
    assert "fallback" in answer.trace.timings_ms and "generate" not in answer.trace.timings_ms


def test_hybrid_first_stage_fuses_dense_and_keyword_results_in_qdrant(
    rag_settings: RagSettings, docs_folder: Path
) -> None:
    answer = _pipeline(rag_settings, docs_folder, first_stage="hybrid").ask("What do pandas eat?")

    assert answer.verdict is Verdict.RELEVANT and "bamboo" in answer.sources[0].text
    assert answer.trace.first_stage == "hybrid"
    # reciprocal-rank-fusion scores, not cosines: at most 1/1 + 1/1 from the two searches
    assert all(0 < c.retrieval_score <= 2 for c in answer.trace.candidates)


def test_generation_failure_still_returns_the_sources(
    rag_settings: RagSettings, docs_folder: Path, closed_port: int
) -> None:
    ingest([docs_folder], rag_settings, show_progress=False)
    generator = ApiGenerator("smollm2", base_url=f"http://127.0.0.1:{closed_port}/v1", timeout_s=5)
    answer = RagPipeline(rag_settings, generator=generator).ask("What do pandas eat?")

    assert answer.verdict is Verdict.RELEVANT
    assert not answer.answered and answer.text is None
    assert answer.generation_error is not None and "could not be reached" in answer.generation_error
    assert answer.message is not None and "sources are listed below" in answer.message
    assert answer.sources and "bamboo" in answer.sources[0].text


async def test_concurrent_async_asks_share_one_pipeline(rag_settings: RagSettings, docs_folder: Path) -> None:
    pipeline = _pipeline(rag_settings, docs_folder)
    questions = ["What do pandas eat?", "How fast can a cheetah run?", "What is a black hole?"]
    answers = await asyncio.gather(*(pipeline.aask(q) for q in questions))
    pipeline.close()

    assert [a.question for a in answers] == questions
    assert all(a.verdict is Verdict.RELEVANT for a in answers)
    assert [
        "bamboo" in answers[0].sources[0].text,
        "110" in answers[1].sources[0].text,
        "gravity" in answers[2].sources[0].text,
    ] == [True, True, True]
    sequential = [pipeline.ask(q) for q in questions]
    assert [a.to_dict(include_trace=False) for a in answers] == [
        a.to_dict(include_trace=False) for a in sequential
    ]


def test_asking_before_ingesting_says_what_to_do(rag_settings: RagSettings) -> None:
    pipeline = RagPipeline.from_settings(rag_settings)
    with pytest.raises(LookupError, match="crossrank ingest"):
        pipeline.ask("What do pandas eat?")
    with pytest.raises(ValueError, match="question is empty"):
        pipeline.ask("   ")
