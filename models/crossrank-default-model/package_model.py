"""Copy a trained model into the package with fp16 weights, and check rankings are unchanged.

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


def main(source: Path, destination: Path = typer.Option(PACKAGE_MODEL_DIR)) -> None:
    """Package ``source`` (a CrossEncoder directory) into ``destination`` as fp16 safetensors."""
    from sentence_transformers import CrossEncoder

    reference = CrossEncoder(str(source), device="cpu")
    before = np.asarray(reference.predict(CHECK_PAIRS, activation_fn=None)).reshape(-1)
    if destination.exists():
        shutil.rmtree(destination)
    reference.half()
    reference.save_pretrained(str(destination), safe_serialization=True)
    config_path = destination / "config.json"
    config = json.loads(config_path.read_text())
    config["dtype"] = "float32"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    for extra in ("README.md", "training_summary.json"):
        if (source / extra).exists():
            shutil.copy(source / extra, destination / extra)
    after = np.asarray(CrossEncoder(str(destination), device="cpu").predict(CHECK_PAIRS, activation_fn=None))
    after = after.reshape(-1)
    for q in range(0, len(CHECK_PAIRS), 3):
        if list(np.argsort(-before[q : q + 3])) != list(np.argsort(-after[q : q + 3])):
            raise SystemExit(f"fp16 storage changed a ranking: {before} vs {after}")
    print(f"packaged into {destination}; max |logit change| = {np.abs(before - after).max():.5f}")


if __name__ == "__main__":
    typer.run(main)
