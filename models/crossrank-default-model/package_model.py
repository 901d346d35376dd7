"""Copy a trained late-interaction model into the package with fp16 weights, and check rankings are unchanged.

    python models/crossrank-default-model/package_model.py /path/to/trained-model

Weights are stored in float16 (half the size) but config.json keeps ``dtype: float32``, so
transformers upcasts on load and CPU inference runs in float32 as before.
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


def _scores(path: Path) -> np.ndarray:
    from crossrank import CrossEncoderScorer

    scorer = CrossEncoderScorer(str(path), backend="torch", device="cpu", calibration=None)
    return np.asarray([scorer.score(q, [d])[0].logit for q, d in CHECK_PAIRS])


def main(source: Path, destination: Path = typer.Option(PACKAGE_MODEL_DIR)) -> None:
    """Package ``source`` (a late-interaction model folder) into ``destination`` as fp16 safetensors."""
    from safetensors.torch import load_file, save_file

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
    after = _scores(destination)
    for q in range(0, len(CHECK_PAIRS), 3):
        if list(np.argsort(-before[q : q + 3])) != list(np.argsort(-after[q : q + 3])):
            raise SystemExit(f"fp16 storage changed a ranking: {before} vs {after}")
    print(f"packaged into {destination}; max |logit change| = {np.abs(before - after).max():.5f}")


if __name__ == "__main__":
    typer.run(main)
