"""Model resolution: local paths, the shipped default, and offline hub ids failing fast and clearly."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from crossrank import CrossEncoderScorer, ModelNotAvailableError, resolve_model


def test_local_directory_resolves_to_itself(base_model_dir):
    assert resolve_model(base_model_dir).path == os.path.realpath(base_model_dir)


def test_missing_local_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))


def test_a_file_is_not_a_model(tmp_path):
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    with pytest.raises(ModelNotAvailableError, match="is a file"):
        resolve_model(str(f))


def test_uncached_hub_id_offline_names_the_model_and_the_fix():
    with pytest.raises(ModelNotAvailableError) as info:
        CrossEncoderScorer("some-org/not-cached-reranker")
    message = str(info.value)
    assert "some-org/not-cached-reranker" in message
    assert "model='./path/to/that/folder'" in message


def test_uncached_hub_id_without_offline_flag_fails_fast_instead_of_retrying():
    # No HF_HUB_OFFLINE here: the reachability probe must answer, not the hub client's retry loop.
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    code = (
        "from crossrank import CrossEncoderScorer, ModelNotAvailableError\n"
        "try:\n    CrossEncoderScorer('some-org/not-cached-reranker')\n"
        "except ModelNotAvailableError as e:\n    print('ERROR:', e)\n"
    )
    started = time.monotonic()
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        pytest.fail("loading an unreachable hub model hung instead of raising")
    if "ERROR:" not in out.stdout:
        pytest.skip(f"the hub is reachable from this machine: {out.stdout[-200:]} {out.stderr[-200:]}")
    assert "some-org/not-cached-reranker" in out.stdout
    assert time.monotonic() - started < 120


def test_default_model_loads_when_installed():
    pytest.importorskip("crossrank_default_model", reason="the default model package is not installed")
    scorer = CrossEncoderScorer()
    scores = scorer.score(
        "How do I reset my password?",
        ["Click on 'Forgot Password' on the login screen.", "Penguins live in the Southern Hemisphere."],
    )
    assert scores[0].probability > scores[1].probability
    assert scorer.model_name == "crossrank-default"


def test_the_default_keeps_its_name_when_its_folder_was_loaded_first(shipped_model_dir):
    by_path = CrossEncoderScorer(shipped_model_dir)
    default = CrossEncoderScorer()
    assert default.backend is by_path.backend  # one load
    assert default.model_name == "crossrank-default" and by_path.model_name != "crossrank-default"


def test_shipped_default_model_loads_and_ranks(shipped_model_dir: str) -> None:
    # The default is a late-interaction model: crossrank's own loader reads it (no trust_remote_code).
    scorer = CrossEncoderScorer(shipped_model_dir, backend="torch", device="cpu")
    scores = scorer.score(
        "what do pandas eat",
        [
            "Giant pandas eat almost nothing but bamboo shoots and leaves.",
            "The stock market fell sharply on Monday.",
        ],
    )
    assert scores[0].probability > scores[1].probability
