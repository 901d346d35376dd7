"""The ONNX Runtime backend: the cross-encoder exported once, int8-quantised, run on CPU.

The first use of a model exports it with ``torch.onnx`` (the module the torch
backend runs, so both backends compute the same function), applies dynamic int8
quantisation with ``onnxruntime.quantization`` and stores the result in a cache
directory keyed by the model's path and the modification time of its files. Every
later load, in any process, reuses the cached file and never touches torch weights.

Dynamic int8 quantisation stores the weights of the linear layers as int8 and
quantises activations on the fly: about 4x smaller weights and a large speed-up
on CPUs with int8 dot-product instructions, at a small cost in score precision
(see ``docs/benchmarks.md`` for the measured parity on SciFact).

Example:
    >>> from crossrank import CrossEncoderScorer
    >>> scorer = CrossEncoderScorer("path/to/cross-encoder", backend="onnx")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossrank.backends.base import OutputKind
from crossrank.models import ResolvedModel

logger = logging.getLogger(__name__)

CACHE_ENV = "CROSSRANK_CACHE_DIR"
"""Environment variable overriding where exported ONNX models are cached."""

# Bump when the export or quantisation changes: cached exports are keyed on it.
_EXPORT_RECIPE = "torch-onnx-opset17-eager-int8-per-channel-matmul-v4"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model")
_ONNX_FILE = "model.onnx"
_META_FILE = "crossrank_onnx.json"


def default_cache_dir() -> Path:
    """Where exported models live: ``$CROSSRANK_CACHE_DIR``, else ``$XDG_CACHE_HOME/crossrank`` or ``~/.cache/crossrank``.

    Example:
        >>> default_cache_dir().name in {"crossrank", "onnx"} or True
        True
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crossrank"


def cpu_threads() -> int:
    """Threads for one inference: the CPUs this process may run on (affinity-aware).

    Example:
        >>> cpu_threads() >= 1
        True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def cache_key(model_path: str, quantize: bool) -> str:
    """A key that changes when the model's files, the export recipe or onnxruntime change.

    Example:
        >>> len(cache_key(".", quantize=True))
        16
    """
    import onnxruntime

    folder = Path(model_path)
    # Modules of a sentence-transformers model live in sub-folders (e.g. 2_Dense/), so walk them all.
    stamps = sorted(
        (str(p.relative_to(folder)), p.stat().st_mtime_ns, p.stat().st_size)
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in _WEIGHT_SUFFIXES
    )
    text = json.dumps([str(folder.resolve()), stamps, quantize, _EXPORT_RECIPE, onnxruntime.__version__])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _scores_module(module: Any, input_names: Sequence[str]) -> Any:
    """Wrap the sentence-transformers module so the exported graph takes positional tensors and returns ``scores``."""
    import torch

    class ScoresOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(dict(zip(input_names, inputs)))["scores"]

    return ScoresOnly().eval()


def _use_eager_attention(network: Any) -> None:
    """Trace attention as plain MatMul/Softmax instead of transformers' SDPA path.

    ONNX Runtime ran the eager graph of a MiniLM-L6 cross-encoder about 20-25% faster
    than the traced SDPA decomposition, int8 and fp32 alike, with the same error
    against torch (docs/benchmarks.md). Models without the switch export as they are.
    """
    switch = getattr(network, "set_attn_implementation", None)
    if switch is None:
        return
    try:
        switch("eager")
    except (ValueError, ImportError, NotImplementedError) as error:  # an architecture with no eager path
        logger.info("keeping the default attention for the ONNX export: %s", error)


def _export(model: ResolvedModel, folder: Path, quantize: bool) -> None:
    """Export ``model`` to ``folder/model.onnx`` (int8 if ``quantize``) with its metadata."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from crossrank.backends.torch import TorchBackend, pad_batch

    # The torch backend knows how to read any cross-encoder's head, labels and limits;
    # exporting the very module it runs keeps the two backends in agreement.
    reference = TorchBackend(model, "cpu")
    _use_eager_attention(reference._model.model)
    encoded = reference.tokenizer(
        ["a short query", "another query"], ["a document", "a somewhat longer document text"], truncation=True
    )
    types = encoded.get("token_type_ids") if reference._uses_token_types else None
    features = pad_batch(encoded["input_ids"], types, reference._pad_token_id)
    names = list(features)
    wrapper = _scores_module(reference._model, names)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        with torch.inference_mode(), warnings.catch_warnings():
            # Tracing warns about Python-level branches in transformers' attention code;
            # the test suite checks the export against torch on padded batches instead.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                tuple(torch.from_numpy(features[name]) for name in names),
                str(fp32),
                input_names=names,
                output_names=["scores"],
                dynamic_axes={**{name: {0: "batch", 1: "sequence"} for name in names}, "scores": {0: "batch"}},
                opset_version=17,
                dynamo=False,  # the TorchScript exporter needs no extra packages and handles BERT-style models
            )
        final = Path(scratch) / _ONNX_FILE
        if quantize:
            # Per-channel weight scales and MatMul-only quantisation (embeddings, pooler and
            # classifier stay fp32): on a trained MiniLM cross-encoder this cut the mean
            # logit error against fp32 from 0.15 to 0.04 at the same speed.
            quantize_dynamic(
                str(fp32), str(final), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
            )
        else:
            fp32.replace(final)
        meta = {
            "model_path": model.path,
            "num_labels": reference.num_labels,
            "output_kind": reference.output_kind,
            "model_max_length": reference.model_max_length,
            "default_max_length": reference.default_max_length,
            "uses_token_types": reference._uses_token_types,
            "pad_token_id": reference._pad_token_id,
            "input_names": names,
            "quantized": quantize,
        }
        (Path(scratch) / _META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        # Move into place atomically: a concurrent process sees either nothing or a complete export.
        os.replace(final, folder / _ONNX_FILE)
        os.replace(Path(scratch) / _META_FILE, folder / _META_FILE)


class OnnxBackend:
    """Runs a cross-encoder with ONNX Runtime on CPU, int8-quantised by default.

    Args:
        model: The resolved model (see ``crossrank.resolve_model``).
        device: Only ``"cpu"`` runs here; a GPU device falls back to CPU with a
            warning (use the torch backend on a GPU).
        quantize: Dynamic int8 quantisation (default) or the fp32 export.
        cache_dir: Where exports are cached; default ``default_cache_dir()``.
        threads: Intra-op threads; default all CPUs available to the process.

    Example:
        >>> from crossrank.models import resolve_model
        >>> backend = OnnxBackend(resolve_model("path/to/cross-encoder"), "cpu")  # doctest: +SKIP
        >>> backend.predict([[101, 2054, 102, 3899, 102]], [[0, 0, 0, 1, 1]]).shape  # doctest: +SKIP
        (1, 1)
    """

    name = "onnx"

    def __init__(
        self,
        model: ResolvedModel,
        device: str = "cpu",
        *,
        quantize: bool = True,
        cache_dir: str | Path | None = None,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        if device != "cpu":
            logger.warning("the onnx backend runs on CPU; ignoring device %r (use backend='torch' on a GPU)", device)
        self.model_name = model.name
        self.model_path = model.path
        self.device = "cpu"
        self.quantized = quantize
        self.export_dir = Path(cache_dir or default_cache_dir()) / "onnx" / cache_key(model.path, quantize)
        if not (self.export_dir / _META_FILE).is_file():
            logger.info("exporting %s to ONNX (once) in %s", model.name, self.export_dir)
            _export(model, self.export_dir, quantize)
        meta = json.loads((self.export_dir / _META_FILE).read_text(encoding="utf-8"))
        self.num_labels = int(meta["num_labels"])
        self.output_kind: OutputKind = meta["output_kind"]
        self.model_max_length = int(meta["model_max_length"])
        self.default_max_length = int(meta["default_max_length"])
        self._uses_token_types = bool(meta["uses_token_types"])
        self._pad_token_id = int(meta["pad_token_id"])
        self.tokenizer = AutoTokenizer.from_pretrained(model.path, local_files_only=True)
        self.threads = threads or cpu_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(self.export_dir / _ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._input_names = [i.name for i in self._session.get_inputs()]
        # Measured with bench/speed.py batch-sizes (docs/benchmarks.md): on CPU, small
        # length-sorted batches pad least and stay in cache; 8 beat 16, 32 and 64
        # (4 tied with 8 within noise).
        self.default_batch_size = 8

    def predict(
        self, input_ids: Sequence[Sequence[int]], token_type_ids: Sequence[Sequence[int]] | None
    ) -> np.ndarray:
        """Run one batch of encoded pairs; returns raw outputs ``(batch, num_labels)`` as float32."""
        from crossrank.backends.torch import pad_batch

        features = pad_batch(input_ids, token_type_ids if self._uses_token_types else None, self._pad_token_id)
        if "token_type_ids" in self._input_names and "token_type_ids" not in features:
            features["token_type_ids"] = np.zeros_like(features["input_ids"])
        feed = {name: features[name] for name in self._input_names}
        (scores,) = self._session.run(None, feed)
        return np.asarray(scores, dtype=np.float32).reshape(len(input_ids), self.num_labels)
