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
    ```python
    from crossrank import CrossEncoderScorer
    scorer = CrossEncoderScorer("path/to/cross-encoder", backend="onnx")
    ```
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

from crossrank.backends.base import OutputKind, pad_batch
from crossrank.models import ResolvedModel

logger = logging.getLogger(__name__)

CACHE_ENV = "CROSSRANK_CACHE_DIR"
"""Environment variable overriding where exported ONNX models are cached."""

# Bump when the export or quantisation changes: cached exports are keyed on it.
_EXPORT_RECIPE = "torch-onnx-opset17-eager-int8-per-channel-matmul-v4"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model")
_ONNX_FILE = "model.onnx"
_META_FILE = "crossrank_onnx.json"
SHIPPED_ONNX_FILE = "model_int8.onnx"
"""A model folder may carry its int8 export under this name (crossrank's default model does)."""
SHIPPED_META_FILE = "model_int8.onnx.json"
_WEIGHTS_FILE = "model.safetensors"
# Only tensors this large are worth sharing with the safetensors file (the word embeddings).
_SHARE_MIN_ELEMENTS = 1_000_000


def default_cache_dir() -> Path:
    """Where exported models live: ``$CROSSRANK_CACHE_DIR``, else ``$XDG_CACHE_HOME/crossrank`` or ``~/.cache/crossrank``.

    Example:
        ```python
        os.environ["CROSSRANK_CACHE_DIR"] = "/srv/crossrank-cache"
        default_cache_dir()
        # -> PosixPath('/srv/crossrank-cache')
        ```
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crossrank"


def cpu_threads() -> int:
    """Threads for one inference: the CPUs this process may run on (affinity-aware).

    Example:
        ```python
        cpu_threads() >= 1
        # -> True
        ```
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def cache_key(model_path: str, quantize: bool) -> str:
    """A key that changes when the model's files, the export recipe or onnxruntime change.

    Example:
        ```python
        len(cache_key(".", quantize=True))
        # -> 16
        ```
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

    from crossrank.backends.base import pad_batch
    from crossrank.backends.torch import TorchBackend

    # The torch backend knows how to read any cross-encoder's head, labels and limits;
    # exporting the very module it runs keeps the two backends in agreement.
    reference = TorchBackend(model, "cpu")
    _use_eager_attention(reference.network)
    encoded = reference.tokenizer(
        ["a short query", "another query"], ["a document", "a somewhat longer document text"], truncation=True
    )
    types = encoded.get("token_type_ids") if reference.uses_token_types else None
    features = pad_batch(encoded["input_ids"], types, reference.pad_token_id)
    names = list(features)
    wrapper = _scores_module(reference.module, names)
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
            "uses_token_types": reference.uses_token_types,
            "pad_token_id": reference.pad_token_id,
            "input_names": names,
            "quantized": quantize,
        }
        (Path(scratch) / _META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        # Move into place atomically: a concurrent process sees either nothing or a complete export.
        os.replace(final, folder / _ONNX_FILE)
        os.replace(Path(scratch) / _META_FILE, folder / _META_FILE)


def _weights_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    with open(folder / _WEIGHTS_FILE, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _safetensors_layout(path: Path) -> tuple[int, dict[str, Any]]:
    """The byte offset where tensor data starts and the header of a safetensors file (its documented layout)."""
    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(size))
    header.pop("__metadata__", None)
    return 8 + size, header


def _share_embeddings(onnx_path: Path, folder: Path) -> int:
    """Point the export's big fp32 tables at the identical fp16 tensors in ``folder/model.safetensors``.

    The shipped weights are stored in fp16, so the fp32 word-embedding table in the export
    holds exactly the same values: instead of carrying 47 MB twice, the graph reads the fp16
    bytes from the safetensors file (ONNX external data with an offset) and a Cast, which
    ONNX Runtime constant-folds when the session loads, restores fp32. Returns the bytes saved.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    weights = folder / _WEIGHTS_FILE
    start, header = _safetensors_layout(weights)
    tensors = load_file(str(weights))
    model = onnx.load(str(onnx_path))
    graph = model.graph
    saved = 0
    for position, initializer in enumerate(list(graph.initializer)):
        if initializer.data_type != TensorProto.FLOAT or np.prod(initializer.dims) < _SHARE_MIN_ELEMENTS:
            continue
        values = numpy_helper.to_array(initializer)
        for name, entry in header.items():
            if entry["dtype"] != "F16" or list(entry["shape"]) != list(values.shape):
                continue
            if not np.array_equal(tensors[name].astype(np.float32), values):
                continue
            begin, end = entry["data_offsets"]
            shared = TensorProto(name=f"{initializer.name}.fp16", data_type=TensorProto.FLOAT16, dims=values.shape)
            shared.data_location = TensorProto.EXTERNAL
            for key, value in (("location", _WEIGHTS_FILE), ("offset", str(start + begin)), ("length", str(end - begin))):
                shared.external_data.add(key=key, value=value)
            graph.initializer.remove(initializer)
            graph.initializer.insert(position, shared)
            graph.node.insert(0, helper.make_node("Cast", [shared.name], [initializer.name], to=TensorProto.FLOAT))
            saved += values.nbytes
            break
    onnx.save(model, str(onnx_path))
    return saved


def ship_export(model_path: str | os.PathLike[str]) -> Path:
    """Export the model in ``model_path`` to int8 ONNX inside that folder, so its first use exports nothing.

    Writes ``model_int8.onnx`` (its embedding table read from ``model.safetensors``, see
    ``_share_embeddings``) and ``model_int8.onnx.json``, which records the export recipe and
    the weights' SHA-256: the backend uses the file only while both still match.

    Example:
        ```python
        from crossrank.backends.onnx import ship_export
        ship_export("models/my-reranker")   # once, when packaging the model
        ```
    """
    from crossrank.models import resolve_model

    folder = Path(model_path)
    with tempfile.TemporaryDirectory() as scratch:
        _export(resolve_model(str(folder)), Path(scratch), quantize=True)
        exported = Path(scratch) / _ONNX_FILE
        if (folder / _WEIGHTS_FILE).is_file():
            _share_embeddings(exported, folder)
        meta = json.loads((Path(scratch) / _META_FILE).read_text(encoding="utf-8"))
        meta.update(recipe=_EXPORT_RECIPE, weights_sha256=_weights_digest(folder))
        meta.pop("model_path", None)
        os.replace(exported, folder / SHIPPED_ONNX_FILE)
        (folder / SHIPPED_META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder / SHIPPED_ONNX_FILE


def shipped_export(model_path: str | os.PathLike[str]) -> Path | None:
    """The int8 export a model folder carries, or ``None`` when it has none or it no longer matches the weights.

    Example:
        ```python
        shipped_export(crossrank_default_model.get_model_path())  # .../model/model_int8.onnx
        ```
    """
    folder = Path(model_path)
    meta_path = folder / SHIPPED_META_FILE
    if not (meta_path.is_file() and (folder / SHIPPED_ONNX_FILE).is_file() and (folder / _WEIGHTS_FILE).is_file()):
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("recipe") != _EXPORT_RECIPE:
        logger.info("ignoring %s: exported by recipe %r, not %r", meta_path, meta.get("recipe"), _EXPORT_RECIPE)
        return None
    if meta.get("weights_sha256") != _weights_digest(folder):
        logger.warning("ignoring %s: the model's weights changed since it was exported", meta_path)
        return None
    return folder / SHIPPED_ONNX_FILE


class OnnxBackend:
    """Runs a cross-encoder with ONNX Runtime on CPU, int8-quantised by default.

    Args:
        model: The resolved model (see ``crossrank.resolve_model``).
        device: Only ``"cpu"`` runs here; a GPU device falls back to CPU with a
            warning (use the torch backend on a GPU).
        quantize: Dynamic int8 quantisation (default) or the fp32 export.
        cache_dir: Where exports are cached; default ``default_cache_dir()``. A model
            folder that carries a matching int8 export (``ship_export``) is used as it is.
        threads: Intra-op threads; default all CPUs available to the process.

    Example:
        ```python
        from crossrank.models import resolve_model
        backend = OnnxBackend(resolve_model("path/to/cross-encoder"), "cpu")
        backend.predict([[101, 2054, 102, 3899, 102]], [[0, 0, 0, 1, 1]]).shape
        # -> (1, 1)
        ```
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
        shipped = shipped_export(model.path) if quantize else None
        if shipped is not None:
            self.export_dir = shipped.parent
            self.onnx_path = shipped
            meta_path = shipped.parent / SHIPPED_META_FILE
        else:
            self.export_dir = Path(cache_dir or default_cache_dir()) / "onnx" / cache_key(model.path, quantize)
            self.onnx_path = self.export_dir / _ONNX_FILE
            meta_path = self.export_dir / _META_FILE
            if not meta_path.is_file():
                logger.info("exporting %s to ONNX (once) in %s", model.name, self.export_dir)
                _export(model, self.export_dir, quantize)
        self.shipped = shipped is not None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.num_labels = int(meta["num_labels"])
        self.output_kind: OutputKind = meta["output_kind"]
        self.model_max_length = int(meta["model_max_length"])
        self.default_max_length = int(meta["default_max_length"])
        self.uses_token_types = bool(meta["uses_token_types"])
        self.pad_token_id = int(meta["pad_token_id"])
        self.tokenizer = AutoTokenizer.from_pretrained(model.path, local_files_only=True)
        self.threads = threads or cpu_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(self.onnx_path), options, providers=["CPUExecutionProvider"]
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
        features = pad_batch(input_ids, token_type_ids if self.uses_token_types else None, self.pad_token_id)
        if "token_type_ids" in self._input_names and "token_type_ids" not in features:
            features["token_type_ids"] = np.zeros_like(features["input_ids"])
        feed = {name: features[name] for name in self._input_names}
        (scores,) = self._session.run(None, feed)
        return np.asarray(scores, dtype=np.float32).reshape(len(input_ids), self.num_labels)
