"""The classifier stage on the Ray executor (a local cluster, 2 workers) against the local executor.

    .venv/bin/python bench/bench_ray.py                       # the `controls` profile's 45 cells
    .venv/bin/python bench/bench_ray.py --config demo --workers 2

Both runs score the same cells of the same config (``controls`` by default: majority, TF-IDF and
markers, no generators, so the classifier stage is all there is) from an empty state folder;
the Ray cluster is started before the clock runs, its workers are not (their imports are part
of what Ray costs). Writes ``bench-results/ray.json``: each executor's classifier-stage and
whole-benchmark wall time, the ratio local/Ray (above 1: Ray is faster), seconds per cell, and
whether both wrote the same scores; with the machine's cores and load, so numbers from a busy
machine can be read as such.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

ROOT = Path(__file__).resolve().parents[1]


def _run(config_name: str, home: Path, kind: str) -> dict:
    from eval.benchmark import run_benchmark
    from eval.config import load_config
    from eval.state import SCORE_KEYS

    config = load_config(
        config_name, output_dir=str(home / kind), tracking={"system_metrics": False}, executor={"kind": kind}
    )
    start = time.perf_counter()
    result = run_benchmark(config, tracking_uri=f"sqlite:///{home}/mlflow.db")
    wall = time.perf_counter() - start
    scores = result.scores.drop(columns="config_digest").sort_values(SCORE_KEYS).reset_index(drop=True)
    return {
        "classifiers_s": round(result.timings["classifiers"], 2),
        "benchmark_s": round(wall, 2),
        "cells": len(scores),
        "s_per_cell": round(result.timings["classifiers"] / len(scores), 3),
        "scores": scores,
    }


def main(
    config: Annotated[str, typer.Option(help="Profile or YAML whose classifier cells are timed.")] = "controls",
    workers: Annotated[int, typer.Option(help="CPUs of the local Ray cluster (one cell task each).")] = 2,
    out: Annotated[Path, typer.Option(help="Folder for the JSON result.")] = ROOT / "bench-results",
) -> None:
    """Run the config on both executors and write bench-results/ray.json."""
    import ray

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        home = Path(tmp)
        local = _run(config, home, "local")
        start = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING)
        cluster_s = time.perf_counter() - start
        try:
            on_ray = _run(config, home, "ray")
        finally:
            ray.shutdown()
    same = local.pop("scores").equals(on_ray.pop("scores"))
    result = {
        "config": config,
        "workers": workers,
        "local": local,
        "ray": {**on_ray, "cluster_start_s": round(cluster_s, 2)},
        "ratio_classifiers_local_over_ray": round(local["classifiers_s"] / on_ray["classifiers_s"], 3),
        "ratio_benchmark_local_over_ray": round(local["benchmark_s"] / on_ray["benchmark_s"], 3),
        "same_scores": same,
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "ray": ray.__version__,
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "ray.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not same:
        raise SystemExit("the Ray executor wrote other scores than the local executor")


if __name__ == "__main__":
    typer.run(main)
