#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, builds the GPU venv (CUDA torch, the real
# vllm), runs the `tiny` profile (local and Ray executors) and `make bench`, and measures what
# the GPU entries of bench-results/README.md need: HF `generate` against the project's vLLM paths at batch 64,
# SFT+DPO throughput, and BERT fine-tuning speed. Everything lands in bench-results/ (the GPU
# runs in bench-results/gpu/), with the GPU's name and driver.
#
#     bash scripts/gpu_check.sh           # on the GPU machine, from anywhere in the repository
#     GPU_CHECK_DRY_RUN=1 bash scripts/gpu_check.sh   # print the steps, run nothing (any machine)
#
# It never ran here (no GPU was lent to this project); `bash -n scripts/gpu_check.sh` and the dry
# run are checked on the CPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=bench-results/gpu
BIN=.venv/bin
export HF_HUB_OFFLINE=1 MLFLOW_TRACKING_URI="sqlite:///$PWD/$OUT/mlflow.db"

step() {
    echo "[gpu-check] $*"
    if [ -z "${GPU_CHECK_DRY_RUN:-}" ]; then
        local start=$SECONDS
        "$@"
        echo "[gpu-check] ${SECONDS}s total so far ($((SECONDS - start))s for this step)"
    fi
}

timed_json() {  # timed_json NAME CMD...: wall seconds of CMD into $OUT/NAME.time.json
    local name=$1 start=$SECONDS
    shift
    "$@"
    echo "{\"step\": \"$name\", \"wall_s\": $((SECONDS - start))}" > "$OUT/$name.time.json"
}

if [ -z "${GPU_CHECK_DRY_RUN:-}" ] && ! nvidia-smi -L >/dev/null 2>&1; then
    echo "[gpu-check] nvidia-smi finds no GPU: this check is for a GPU machine (GPU_CHECK_DRY_RUN=1 shows its steps)" >&2
    exit 2
fi
[ -n "${GPU_CHECK_DRY_RUN:-}" ] || mkdir -p "$OUT"

step env COOKIEBENCH_GPU=1 make setup
step "$BIN/python" -c "import torch, vllm; assert torch.cuda.is_available(), 'torch sees no GPU'; print('[gpu-check] torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0), 'vllm', vllm.__version__)"
step bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > $OUT/gpu.csv"
step "$BIN/cookiebench" models prepare

# The whole protocol, small: on the GPU the runner picks a vLLM server with LoRA adapters; on Ray
# each generation round goes to one task per GPU (`executor.generation_workers`), each with its vLLM.
step timed_json tiny-local "$BIN/cookiebench" benchmark --config tiny --output-dir "$OUT/runs/tiny-local"
step timed_json tiny-ray "$BIN/cookiebench" benchmark --config tiny --output-dir "$OUT/runs/tiny-ray" --executor ray

# Every benchmark of `make bench` (bench-results/*.json), then the GPU-specific measurements.
step make bench
step "$BIN/python" bench/bench_generate.py --n 64 --tokens 100 --only hf,vllm-eager,vllm-compiled,vllm-lora,inproc-merged \
    --out "$OUT/generate.json"
step "$BIN/python" bench/bench_dpo.py --pairs 64 --batch-size 8 --threads 4 --out "$OUT"
step timed_json sft-dpo "$BIN/cookiebench" augment train --style both --out "$OUT/generators" --no-track
step "$BIN/python" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
# SFT+DPO end to end: examples and pairs seen per second of `augment train` (both styles).
out = Path(sys.argv[1])
wall = json.loads((out / "sft-dpo.time.json").read_text())["wall_s"]
pairs = sum(1 for p in (out / "generators").rglob("pairs*.jsonl") for _ in p.open())
(out / "sft-dpo.json").write_text(json.dumps({"wall_s": wall, "dpo_pairs": pairs,
                                              "pairs_per_s_end_to_end": round(pairs / max(wall, 1), 3)}, indent=2))
EOF
step "$BIN/python" bench/bench_detect.py --classifier bert --folds 5 --out "$OUT"
echo "[gpu-check] done: $OUT/ and bench-results/*.json"
