"""Benchmark: power per minute of the demo's design (fixed split) against 2- and 3-fold CV.

    .venv/bin/python -m bench design
    .venv/bin/python -m bench.bench_design --generator-minutes 9  # what your machine's make demo printed

Every design runs the demo's controls (``none``, ``real``, ``flipped`` at the demo's control
ratios and reserve, the demo's detectors) through the benchmark itself, so its minimum
detectable effect (:func:`eval.power.design_power`) and its controls' verdicts are the ones
`make demo` would print. The controls need no generators, so each design's cost is its measured
detector time plus what its generator sets would cost: one set on the fixed split (its repeats
share it), K sets for K-fold (each fold's generators may see no test speaker). A set's cost
(``--generator-minutes``, training plus generation) is the demo's "generators" and "generation"
stages as `make demo` prints them. Information is 1/MDE² (an MDE halves with 4x the
test data), per minute, relative to the fixed split.

Writes ``bench-results/design.md`` and ``bench-results/design.json``. The simulated cohort is
not clinical data.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import tempfile
import time
from pathlib import Path

OUT = Path("bench-results") / "design"
DESIGNS = {  # name: protocol overrides of the demo profile
    "fixed split x3 repeats": {"split": "adress", "repeats": 3},
    "2-fold CV x1": {"split": "cv", "folds": 2, "repeats": 1},
    "3-fold CV x1": {"split": "cv", "folds": 3, "repeats": 1},
}


def generator_sets(protocol) -> int:
    return 1 if protocol.split == "adress" else protocol.folds * protocol.repeats


def yes(row: dict, control: str) -> str:
    return " / ".join("yes" if row[f"{control}_detected_{m}"] else "no" for m in ("f1", "brier"))


def excludes_zero(rows, metric: str):
    return (rows[f"delta_{metric}_low"] > 0) | (rows[f"delta_{metric}_high"] < 0)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--generator-minutes",
        type=float,
        default=12.6,
        help="minutes one set of generators costs (training + generation), as make demo prints (B7: 573 s + 180 s)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="writes OUT.md and OUT.json")
    args = parser.parse_args(argv or [])  # `python -m bench` has its own argv in sys.argv

    from eval.benchmark import run_benchmark
    from eval.config import CONTROLS, load_config

    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, protocol in DESIGNS.items():
            config = load_config(
                "demo",
                name=f"design-{protocol['split']}{protocol.get('folds', '')}",
                output_dir=str(Path(scratch) / name.replace(" ", "-")),
                conditions=["none", *CONTROLS],
                protocol=protocol,
            )
            start = time.perf_counter()
            result = run_benchmark(config, tracking_uri=f"sqlite:///{scratch}/mlflow.db")
            detector_minutes = (time.perf_counter() - start) / 60
            minutes = detector_minutes + generator_sets(config.protocol) * args.generator_minutes
            table = result.table
            for classifier, own in table.groupby("classifier", sort=False):
                if own.mde_brier.isna().all():
                    continue  # a constant classifier: nothing to detect
                controls = {
                    f"{c}_detected_{m}": bool(excludes_zero(own[own.condition == c], m).any())
                    for c in CONTROLS
                    for m in ("f1", "brier")
                }
                rows.append(
                    {
                        "design": name,
                        "classifier": classifier,
                        "generator_sets": generator_sets(config.protocol),
                        "minutes": round(minutes, 2),
                        "detector_minutes": round(detector_minutes, 2),
                        "mde_f1": float(own.mde_f1.iloc[0]),
                        "mde_brier": float(own.mde_brier.iloc[0]),
                        **controls,
                    }
                )
    for row in rows:
        fixed = next(r for r in rows if r["classifier"] == row["classifier"] and r["design"] == next(iter(DESIGNS)))
        row["information_per_minute_vs_fixed"] = round(
            (fixed["mde_brier"] / row["mde_brier"]) ** 2 * fixed["minutes"] / row["minutes"], 3
        )
    result = {
        "generator_minutes": args.generator_minutes,
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    header = (
        "| design | classifier | generator sets | minutes | MDE ΔF1 | MDE ΔBrier | real detected (F1 / Brier) | "
        "flipped detected (F1 / Brier) | information per minute vs fixed |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['design']} | {r['classifier']} | {r['generator_sets']} | {r['minutes']:.1f} | "
        f"{r['mde_f1']:.3f} | {r['mde_brier']:.3f} | {yes(r, 'real')} | {yes(r, 'flipped')} | "
        f"{r['information_per_minute_vs_fixed']:.2f} |\n"
        for r in rows
    )
    args.out.with_suffix(".md").write_text(
        f"# Power per minute of the demo's design\n\n`python -m bench design --generator-minutes "
        f"{args.generator_minutes:g}` on {result['date']} ({result['machine']}); the demo's controls on the "
        f"simulated cohort (not clinical data). Minutes: detector time measured plus generator sets x "
        f"{args.generator_minutes:g}.\n\n{header}{body}",
        encoding="utf-8",
    )
    print(header + body)
    return result


if __name__ == "__main__":
    main(__import__("sys").argv[1:])
