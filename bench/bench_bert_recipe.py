"""Benchmark: the BERT recipe search, against TF-IDF and markers on the same folds.

    .venv/bin/python bench/bench_bert_recipe.py               # probe recipes, 5x3 CV + ADReSS split
    .venv/bin/python bench/bench_bert_recipe.py --finetune    # + the end-to-end fine-tune (5x1, ~10 min)
    .venv/bin/python bench/bench_bert_recipe.py --corpus /data/Pitt   # on a real corpus

Every recipe is scored by the project's own speaker-grouped CV (``detect.cv.cross_validate``)
on the same folds and seeds, and on the fixed ADReSS split. The shipped default must be at
least as good as TF-IDF on F1 and AUROC under 5x3 CV, never collapse to one class, and cost
seconds per fit once the encoder's features are cached. Writes
``bench-results/bench_bert_recipe.json`` and a markdown table next to it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

ROOT = Path(__file__).resolve().parents[1]

# (label, classifier, options): the default first, then the alternatives it was chosen over.
RECIPES: list[tuple[str, str, dict[str, Any]]] = [
    ("bert probe, layers 1/3-2/3, C 0.001 (default)", "bert", {}),
    ("bert probe, layers 1/3-2/3, C 0.01", "bert", {"C": 0.01}),
    ("bert probe, layer 2/3, C 0.003", "bert", {"probe_layers": (2 / 3,), "C": 0.003}),
    ("bert probe, last layer, C 0.01", "bert", {"probe_layers": (1.0,), "C": 0.01}),
    ("bert probe, all layers, C 0.001", "bert", {"probe_layers": tuple(i / 6 for i in range(1, 7)), "C": 0.001}),
    ("tfidf", "tfidf", {}),
    ("markers", "markers", {}),
    ("majority", "majority", {}),
]
FINETUNE = ("bert fine-tune (lr 1e-4, 4 epochs, early stopping)", "bert", {"mode": "finetune"})


def _collapsed(rows: list[Any]) -> int:
    """Folds whose detector called (nearly) everyone one class: recall or specificity of 0."""
    return sum(1 for r in rows if min(r.sensitivity, r.specificity) == 0.0)


def main(
    finetune: Annotated[bool, typer.Option(help="Also run the end-to-end fine-tune (5 folds x 1 seed).")] = False,
    folds: Annotated[int, typer.Option(help="K of the speaker-grouped K-fold.")] = 5,
    repeats: Annotated[int, typer.Option(help="Seeds of the CV.")] = 3,
    corpus: Annotated[
        Path | None, typer.Option(help="Corpus (e.g. a real ADReSS/Pitt folder); default: the simulated cohort.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the results.")] = ROOT / "bench-results",
) -> None:
    """Score every recipe on the same folds; write JSON and a markdown table."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from detect.classifiers import make_detector
    from detect.cv import cross_validate
    from detect.metrics import binary_metrics
    from detect.readers import load_corpus

    data = load_corpus(corpus)
    train, test = data.by_split("train"), data.by_split("test")
    if not len(train):  # no ADReSS split: CV over everything, no fixed-split columns
        train = data
    recipes = [*RECIPES, FINETUNE] if finetune else RECIPES
    results = []
    for label, classifier, options in recipes:
        start = time.perf_counter()
        n_repeats = 1 if options.get("mode") == "finetune" else repeats
        cv = cross_validate(train, classifier, options, folds=folds, repeats=n_repeats)
        cv_s = time.perf_counter() - start
        split = (
            [
                binary_metrics(
                    test.y(), make_detector(classifier, options, seed=seed).fit(list(train)).p_ad(list(test))
                )
                for seed in range(n_repeats)
            ]
            if len(test)
            else [{"f1": float("nan"), "auroc": float("nan")}]
        )
        summary = cv.summary
        results.append(
            {
                "recipe": label,
                "classifier": classifier,
                "options": options,
                "cv": f"{folds}x{n_repeats}",
                "cv_f1": round(summary["f1"].mean, 3),
                "cv_f1_sd": round(summary["f1"].sd, 3),
                "cv_auroc": round(summary["auroc"].mean, 3),
                "cv_auroc_sd": round(summary["auroc"].sd, 3),
                "cv_min_fold_f1": round(min(r.f1 for r in cv.rows), 3),
                "collapsed_folds": _collapsed(cv.rows),
                "split_f1": round(float(np.mean([m["f1"] for m in split])), 3),
                "split_auroc": round(float(np.mean([m["auroc"] for m in split])), 3),
                "cv_wall_s": round(cv_s, 1),
                "s_per_fit": round(cv_s / len(cv.rows), 2),
            }
        )
        print(f"{label}: {results[-1]}", file=sys.stderr, flush=True)

    out.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "bert_recipe",
        "corpus": str(corpus) if corpus else "simulated cohort (not a clinical result)",
        "cpus": os.cpu_count(),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": results,
    }
    (out / "bench_bert_recipe.json").write_text(json.dumps(record, indent=2))
    head = "| recipe | CV | F1 (sd) | AUROC (sd) | min fold F1 | collapsed folds | split F1 | split AUROC | s/fit |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    lines += [
        f"| {r['recipe']} | {r['cv']} | {r['cv_f1']:.3f} ({r['cv_f1_sd']:.3f}) | {r['cv_auroc']:.3f} "
        f"({r['cv_auroc_sd']:.3f}) | {r['cv_min_fold_f1']:.3f} | {r['collapsed_folds']} | {r['split_f1']:.3f} | "
        f"{r['split_auroc']:.3f} | {r['s_per_fit']:.2f} |"
        for r in results
    ]
    (out / "bench_bert_recipe.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
