"""Inference backends behind one interface, and the per-process registry that shares them."""

from crossrank.backends.base import Backend, OutputKind
from crossrank.backends.registry import (
    AUTO,
    BACKENDS,
    clear_registry,
    load_backend,
    loaded_backends,
    resolve_backend,
    resolve_device,
)

__all__ = [
    "AUTO",
    "BACKENDS",
    "Backend",
    "OutputKind",
    "clear_registry",
    "load_backend",
    "loaded_backends",
    "resolve_backend",
    "resolve_device",
]
