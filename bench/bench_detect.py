"""Benchmark: 5-fold MiniLM CV on the simulated cohort's training set, and predict throughput.

    .venv/bin/python bench/bench_detect.py                 # BERT defaults, 5 folds, 1 seed
    .venv/bin/python bench/bench_detect.py --classifier tfidf --repeats 3

Writes ``bench-results/bench_detect[_<classifier>].json``: wall time of the CV, peak resident
memory of this process, per-fold fit times, predict throughput (transcripts/s) and the CV
metrics, with the machine's cores and load so numbers from busy machines can be read as such.
The target for the defaults: under 5 minutes on a 2-core machine.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux: the high-water mark of this process, model and data included.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(
    classifier: Annotated[str, typer.Option(help="bert, tfidf, markers or majority.")] = "bert",
    folds: Annotated[int, typer.Option(help="K of the speaker-grouped K-fold.")] = 5,
    repeats: Annotated[int, typer.Option(help="Seeds.")] = 1,
    corpus: Annotated[Path | None, typer.Option(help="Corpus; default: the simulated cohort.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the JSON result.")] = ROOT / "bench-results",
    predict_rounds: Annotated[int, typer.Option(help="Timed passes over the test split for throughput.")] = 3,
) -> None:
    """Run the benchmark and write its JSON."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import torch

    from detect.cv import FoldOutcome, cross_validate
    from detect.readers import load_corpus

    data = load_corpus(corpus)
    train, test = data.by_split("train"), data.by_split("test")
    train = train if len(train) else data
    fold_times: list[float] = []
    last: dict[str, object] = {}
    tick = time.perf_counter()

    def on_fold(outcome: FoldOutcome) -> None:
        nonlocal tick
        now = time.perf_counter()
        fold_times.append(round(now - tick, 2))
        tick = now
        last["detector"] = outcome.detector
        print(
            f"fold {outcome.fold.fold} seed {outcome.fold.seed}: {fold_times[-1]:.1f}s "
            f"acc {outcome.metrics.accuracy:.3f}",
            file=sys.stderr,
        )

    start = time.perf_counter()
    result = cross_validate(train, classifier, folds=folds, repeats=repeats, on_fold=on_fold)
    cv_wall = time.perf_counter() - start
    cv_peak = peak_rss_mib()

    detector = last["detector"]
    scored = list(test) if len(test) else list(train)
    detector.p_ad(scored[:4])  # warm-up: first-call allocations are not throughput
    times = []
    for _ in range(predict_rounds):
        t0 = time.perf_counter()
        detector.p_ad(scored)
        times.append(time.perf_counter() - t0)
    best = min(times)

    record = {
        "benchmark": "detect_cv",
        "classifier": classifier,
        "config": result.config,
        "corpus": str(corpus or "simulated cohort"),
        "corpus_digest": train.digest(),
        "speakers": len(train.speakers()),
        "transcripts": len(train),
        "folds": folds,
        "repeats": repeats,
        "cv_wall_s": round(cv_wall, 2),
        "fold_wall_s": fold_times,
        "peak_rss_mib": round(cv_peak, 1),
        "predict_transcripts": len(scored),
        "predict_s_best": round(best, 3),
        "predict_transcripts_per_s": round(len(scored) / best, 2),
        "target_cv_wall_s": 300 if classifier == "bert" else None,
        "metrics": {
            name: {"mean": s.mean, "sd": s.sd, "ci_low": s.ci_low, "ci_high": s.ci_high}
            for name, s in result.summary.items()
        },
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.mkdir(parents=True, exist_ok=True)
    suffix = "" if classifier == "bert" else f"_{classifier}"
    path = out / f"bench_detect{suffix}.json"
    path.write_text(json.dumps(record, indent=2))
    print(json.dumps({k: record[k] for k in ("cv_wall_s", "peak_rss_mib", "predict_transcripts_per_s")}))
    print(f"written to {path}")


if __name__ == "__main__":
    typer.run(main)
