"""Copy a trained late-interaction model into the package with fp16 weights and its int8 ONNX export.

    python models/crossrank-default-model/package_model.py /path/to/trained-model
    python models/crossrank-default-model/package_model.py --onnx-only   # re-export the packaged weights

Weights are stored in float16 (half the size) but config.json keeps ``dtype: float32``, so
transformers upcasts on load and CPU inference runs in float32 as before. The int8 export
(``model_int8.onnx``, what ``backend="auto"`` runs on a CPU) reads its embedding table from the
same safetensors file, so it adds about 12 MB. Both steps check that no ranking of the
check pairs changes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import typer

PACKAGE_MODEL_DIR = Path(__file__).resolve().parent / "crossrank_default_model" / "model"
CHECK_PAIRS = [
    ("what do pandas eat", "Giant pandas eat almost nothing but bamboo shoots and leaves."),
    ("what do pandas eat", "Pandas live in the mountains of central China."),
    ("what do pandas eat", "The stock market fell sharply on Monday."),
    ("who wrote hamlet", "Hamlet is a tragedy written by William Shakespeare around 1600."),
    ("who wrote hamlet", "Denmark is a Nordic country in Northern Europe."),
    ("who wrote hamlet", "Shakespeare was born in Stratford-upon-Avon in 1564."),
]


def _scores(path: Path, backend: str = "torch") -> np.ndarray:
    from crossrank import CrossEncoderScorer
    from crossrank.backends import clear_registry

    clear_registry()  # the folder's files change between calls: never reuse a loaded model
    scorer = CrossEncoderScorer(str(path), backend=backend, device="cpu", calibration=None)
    return np.asarray([scorer.score(q, [d])[0].logit for q, d in CHECK_PAIRS])


def _check_rankings(before: np.ndarray, after: np.ndarray, what: str) -> None:
    for q in range(0, len(CHECK_PAIRS), 3):
        if list(np.argsort(-before[q : q + 3])) != list(np.argsort(-after[q : q + 3])):
            raise SystemExit(f"{what} changed a ranking: {before} vs {after}")
    print(f"{what}: max |logit change| = {np.abs(before - after).max():.5f}, rankings unchanged")


def _ship_onnx(destination: Path) -> None:
    from crossrank.backends.onnx import ship_export, shipped_export

    onnx_file = ship_export(destination)
    if shipped_export(destination) != onnx_file:
        raise SystemExit(f"{onnx_file} was written but the backend would not use it")
    _check_rankings(_scores(destination, "torch"), _scores(destination, "onnx"), "int8 ONNX export")
    print(f"wrote {onnx_file} ({onnx_file.stat().st_size / 1e6:.1f} MB)")


def main(
    source: Path = typer.Argument(None, help="Trained model folder; omit with --onnx-only."),
    destination: Path = typer.Option(PACKAGE_MODEL_DIR),
    onnx_only: bool = typer.Option(False, help="Only (re-)export the int8 ONNX file of the packaged weights."),
) -> None:
    """Package ``source`` (a late-interaction model folder) into ``destination`` as fp16 safetensors + int8 ONNX."""
    from safetensors.torch import load_file, save_file

    if onnx_only:
        _ship_onnx(destination)
        return
    if source is None:
        raise SystemExit("give the trained model folder, or --onnx-only")
    before = _scores(source)
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("trainer_state.pt", "*.onnx"))
    weights = destination / "model.safetensors"
    save_file({k: v.half().contiguous() for k, v in load_file(str(weights)).items()}, str(weights),
              metadata={"format": "pt"})
    config_path = destination / "config.json"
    config = json.loads(config_path.read_text())
    config["dtype"] = "float32"  # transformers upcasts the fp16 weights on load; CPU inference stays fp32
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    _check_rankings(before, _scores(destination), "fp16 storage")
    _ship_onnx(destination)
    print(f"packaged into {destination}")


if __name__ == "__main__":
    typer.run(main)
