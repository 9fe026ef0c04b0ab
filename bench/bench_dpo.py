"""Benchmark: DPO throughput (pairs/s) and peak memory, live reference vs precomputed reference log-probs.

    .venv/bin/python bench/bench_dpo.py                  # both variants, 16 pairs each
    .venv/bin/python bench/bench_dpo.py --pairs 32 --max-length 224

Both variants run the production path (:func:`augment.stages.run_dpo`: the SFT adapter
trained further, its frozen copy as reference) on the same pairs from the simulated
cohort, each in its own subprocess so that peak resident memory is that variant's alone.
"live" scores the reference at every step (adapter switched to the frozen copy);
"precomputed" scores all pairs once before training (TRL's ``precompute_ref_log_probs``).
pairs/s counts the reference pass too: the wall time from trainer construction (where TRL
precomputes) to the end of training.

Writes ``bench-results/bench_dpo.json`` with the machine's cores and load average, so numbers
from a busy machine can be read as such.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("live", "precomputed")


def _one(variant: str, pairs: int, max_length: int, batch_size: int, threads: int) -> dict:
    """Runs one variant in this process and returns its numbers."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(threads)
    from peft import get_peft_model

    from augment.base_model import load_base_model, prepare_base_model
    from augment.pair_config import PairConfig
    from augment.pairs import build_pairs
    from augment.stages import CookieDPOConfig, StageResult, default_lora_config, run_dpo
    from detect.readers import load_corpus

    base = prepare_base_model()
    train = load_corpus().by_split("train")
    pair_set = build_pairs(train, PairConfig(strategies=("real", "degraded"), styles=("ad",), rejected_per_chosen=1))
    chosen = pair_set.pairs[:pairs]
    with tempfile.TemporaryDirectory() as tmp:
        # A fresh LoRA adapter stands in for the SFT adapter: same shapes, same code path.
        model, _ = load_base_model(base)
        sft_dir = Path(tmp) / "sft"
        get_peft_model(model, default_lora_config()).save_pretrained(str(sft_dir))
        del model
        sft = StageResult(adapter=sft_dir, config_hash="bench", metrics={})
        args = CookieDPOConfig(
            num_train_epochs=1,
            max_length=max_length,
            per_device_train_batch_size=batch_size,
            precompute_ref_log_probs=variant == "precomputed",
            score_pairs=0,
            min_pairs=1,
            save_strategy="no",
            seed=0,
            disable_tqdm=True,
        )
        start = time.perf_counter()
        result = run_dpo(
            base,
            sft,
            chosen,
            ("ad",),
            "separate",
            args,
            Path(tmp) / "unit",
            identity={"name": "bench", "digest": "-"},
            data_digest="-",
        )
        wall = time.perf_counter() - start
    return {
        "variant": variant,
        "pairs": len(chosen),
        "steps": int(result.metrics["steps"]),
        "wall_s": round(wall, 2),
        "pairs_per_s": round(len(chosen) / wall, 4),
        "train_only_pairs_per_s": round(result.metrics["pairs_per_second"], 4),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "final_train_loss": round(result.metrics["train_loss"], 4),
    }


def main(
    pairs: Annotated[int, typer.Option(help="Pairs per variant (one epoch).")] = 16,
    max_length: Annotated[int, typer.Option(help="Tokens per prompt + description.")] = 192,
    batch_size: Annotated[int, typer.Option(help="Pairs per step.")] = 4,
    # 1 by default: on a shared CPU two OpenMP threads mostly wait for each other.
    threads: Annotated[int, typer.Option(help="torch threads per variant.")] = 1,
    out: Annotated[Path, typer.Option(help="Folder for the JSON result.")] = ROOT / "bench-results",
    variant: Annotated[str | None, typer.Option(help="Internal: run one variant and print its JSON.")] = None,
) -> None:
    """Run both variants, one subprocess each, and write bench-results/bench_dpo.json."""
    if variant is not None:
        print("BENCH_RESULT " + json.dumps(_one(variant, pairs, max_length, batch_size, threads)), flush=True)
        return
    results = []
    for name in VARIANTS:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--variant",
            name,
            "--pairs",
            str(pairs),
            "--max-length",
            str(max_length),
            "--batch-size",
            str(batch_size),
            "--threads",
            str(threads),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"variant {name} failed: {done.stderr.strip().splitlines()[-1:]}")
        results.append(json.loads(lines[-1].removeprefix("BENCH_RESULT ")))
    report = {
        "benchmark": "dpo",
        "model": "SmolLM2-135M-Instruct + LoRA r16 (attention)",
        "settings": {"pairs": pairs, "max_length": max_length, "batch_size": batch_size, "threads": threads},
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        },
        "variants": {r["variant"]: r for r in results},
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "bench_dpo.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    for r in results:
        print(
            f"{r['variant']:>12}: {r['pairs_per_s']:.3f} pairs/s ({r['wall_s']} s for {r['pairs']} pairs), "
            f"peak RSS {r['peak_rss_mib']:.0f} MiB"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    typer.run(main)
