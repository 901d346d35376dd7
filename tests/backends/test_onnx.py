"""The ONNX Runtime backend against the torch backend on the same real (tiny, trained) model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from tiny_model import QA

from crossrank import CrossEncoderScorer
from crossrank.backends.onnx import OnnxBackend, cache_key
from crossrank.models import resolve_model

QUERIES = [q for q, _, _ in QA]
PASSAGES = [p for _, p, _ in QA] + [n for _, _, n in QA]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_logits(tiny_model_dir: str) -> np.ndarray:
    scorer = CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu", calibration=None)
    return np.array([[s.logit for s in group] for group in scorer.score_many([(q, PASSAGES) for q in QUERIES])])


@pytest.fixture(scope="module")
def int8_scorer(tiny_model_dir: str, onnx_cache: Path) -> CrossEncoderScorer:
    return CrossEncoderScorer(
        tiny_model_dir, backend="onnx", backend_options={"cache_dir": onnx_cache}, device="cpu", calibration=None
    )


def test_fp32_export_matches_torch(tiny_model_dir: str, onnx_cache: Path) -> None:
    # Same graph, same weights: only float32 summation order differs, so 1e-4 on logits of size ~3.
    fp32 = OnnxBackend(resolve_model(tiny_model_dir), "cpu", quantize=False, cache_dir=onnx_cache)
    reference = CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu").backend
    encoded = reference.tokenizer(QUERIES[:8], PASSAGES[:8])
    ids, types = encoded["input_ids"], encoded["token_type_ids"]
    np.testing.assert_allclose(fp32.predict(ids, types), reference.predict(ids, types), atol=1e-4)


def test_int8_keeps_ranking_and_scores_close(int8_scorer: CrossEncoderScorer, torch_logits: np.ndarray) -> None:
    assert int8_scorer.backend.name == "onnx"
    groups = int8_scorer.score_many([(q, PASSAGES) for q in QUERIES])
    int8_logits = np.array([[s.logit for s in group] for group in groups])
    # Every query still ranks its own relevant passage first, as the fp32 model does.
    assert (torch_logits.argmax(axis=1) == np.arange(len(QUERIES))).all()
    assert (int8_logits.argmax(axis=1) == np.arange(len(QUERIES))).all()
    # Dynamic int8 rounds activations per batch; measured mean error on this model is ~0.04
    # logits (scores span about -4..4), so 0.15 mean and 0.98 correlation leave a margin
    # while still failing for a broken export (wrong inputs or head give errors of whole logits).
    assert np.abs(int8_logits - torch_logits).mean() < 0.15
    assert np.corrcoef(int8_logits.ravel(), torch_logits.ravel())[0, 1] > 0.98
    assert all(type(s.logit) is float and type(s.probability) is float for s in groups[0])


def test_int8_gates_like_torch(int8_scorer: CrossEncoderScorer) -> None:
    probabilities = [s.probability for s in int8_scorer.score(QA[0][0], [QA[0][1], QA[0][2]])]
    assert probabilities[0] > 0.5 > probabilities[1]


def test_export_is_cached_and_reused(tiny_model_dir: str, int8_scorer: CrossEncoderScorer, onnx_cache: Path) -> None:
    backend = int8_scorer.backend
    assert isinstance(backend, OnnxBackend)
    exported = backend.export_dir / "model.onnx"
    stamp = exported.stat().st_mtime_ns
    again = OnnxBackend(resolve_model(tiny_model_dir), "cpu", cache_dir=onnx_cache)
    assert again.export_dir == backend.export_dir
    assert exported.stat().st_mtime_ns == stamp  # loaded, not exported again
    assert backend.default_batch_size == int8_scorer.batch_size


def test_cache_key_follows_model_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"0")
    before = cache_key(str(tmp_path), quantize=True)
    assert cache_key(str(tmp_path), quantize=False) != before
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert cache_key(str(tmp_path), quantize=True) != before


def test_cache_key_follows_module_subfolders(tmp_path: Path) -> None:
    (tmp_path / "2_Dense").mkdir()
    head = tmp_path / "2_Dense" / "model.safetensors"
    head.write_bytes(b"0")
    before = cache_key(str(tmp_path), quantize=True)
    head.write_bytes(b"01")
    assert cache_key(str(tmp_path), quantize=True) != before


def test_auto_resolves_to_onnx_on_a_cpu_and_torch_on_a_gpu() -> None:
    from crossrank.backends import resolve_backend

    assert resolve_backend("auto", "cpu") == "onnx"  # onnxruntime is installed (importorskip above)
    assert resolve_backend("auto", "cuda") == "torch"
    assert resolve_backend("auto", "mps") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"
    with pytest.raises(ValueError, match=r"unknown backend 'tpu'; choose one of \['auto', 'onnx', 'torch'\]"):
        resolve_backend("tpu", "cpu")


def test_the_default_scorer_runs_int8_onnx_on_a_cpu(tiny_model_dir: str, int8_scorer: CrossEncoderScorer) -> None:
    default = CrossEncoderScorer(tiny_model_dir, device="cpu", calibration=None)
    assert default.backend.name == "onnx"
    assert default.backend is CrossEncoderScorer(tiny_model_dir, backend="onnx", device="cpu").backend  # one load


def test_a_shipped_export_is_used_as_is_and_ignored_once_the_weights_change(
    shipped_model_dir: str, tmp_path: Path
) -> None:
    import shutil

    from crossrank.backends.onnx import SHIPPED_META_FILE, shipped_export

    # The default model package carries its int8 export: loading it exports nothing.
    assert shipped_export(shipped_model_dir) == Path(shipped_model_dir) / "model_int8.onnx"
    backend = OnnxBackend(resolve_model(shipped_model_dir), "cpu", cache_dir=tmp_path / "unused")
    assert backend.shipped and not (tmp_path / "unused").exists()
    pairs = backend.tokenizer(["what do pandas eat"] * 2, ["Giant pandas eat bamboo.", "The stock market fell."])
    shipped_logits = backend.predict(pairs["input_ids"], pairs["token_type_ids"]).ravel()
    assert shipped_logits[0] > shipped_logits[1]

    # A copy whose weights differ from what the export recorded falls back to exporting.
    copy = tmp_path / "model"
    shutil.copytree(shipped_model_dir, copy)
    with open(copy / "model.safetensors", "r+b") as weights:
        weights.seek(-2, os.SEEK_END)
        weights.write(b"\x00\x3c")  # the last fp16 value becomes 1.0
    assert shipped_export(copy) is None
    meta = (copy / SHIPPED_META_FILE).read_text()
    assert "weights_sha256" in meta


def test_backend_options_reach_the_onnx_backend(tiny_model_dir: str, onnx_cache: Path) -> None:
    one_thread = CrossEncoderScorer(
        tiny_model_dir, backend="onnx", backend_options={"threads": 1, "cache_dir": onnx_cache}, calibration=None
    )
    assert isinstance(one_thread.backend, OnnxBackend) and one_thread.backend.threads == 1
    # Options are part of the shared-model key: another thread count is another session.
    two = CrossEncoderScorer(tiny_model_dir, backend="onnx", backend_options={"threads": 2, "cache_dir": onnx_cache})
    assert two.backend is not one_thread.backend and two.backend.threads == 2
    with pytest.raises(ValueError, match=r"unknown onnx backend option\(s\) \['thread'\]"):
        CrossEncoderScorer(tiny_model_dir, backend="onnx", backend_options={"thread": 1})
    with pytest.raises(ValueError, match="the torch backend takes no options"):
        CrossEncoderScorer(tiny_model_dir, backend="torch", backend_options={"threads": 1})


def test_the_scorer_takes_a_ready_backend(tiny_model_dir: str, int8_scorer: CrossEncoderScorer) -> None:
    ready = int8_scorer.backend
    wrapped = CrossEncoderScorer(backend=ready, calibration=None)
    assert wrapped.backend is ready
    assert [s.logit for s in wrapped.score(QA[0][0], [QA[0][1]])] == [
        s.logit for s in int8_scorer.score(QA[0][0], [QA[0][1]])
    ]
    with pytest.raises(ValueError, match="model and backend_options must not be given"):
        CrossEncoderScorer(tiny_model_dir, backend=ready)
    with pytest.raises(TypeError, match="backend must be a name"):
        CrossEncoderScorer(backend=3)  # type: ignore[arg-type]
