"""Which pair strategy moves which marker: DPO on each strategy alone, against the SFT it continues.

On the simulated cohort's training speakers: one SFT adapter (conditional mode, the demo's
settings), then one DPO adapter per pair strategy alone (real, degraded, generated, broken,
disfluent) and one on all of them together, each continuing that same SFT
adapter with the same DPO settings and steps. Every generator (SFT included) then writes
``--n`` descriptions per style through the project's own generation path
(:func:`augment.runner.run_jobs`: vLLM in-process, adapters merged, the same sampling seeds
for all), and each description gets its markers
(IU coverage, words, pronoun ratio, disfluency rate), the filters' verdicts
(:func:`augment.filters.apply_filters`: pass = every default-required verdict) and its loop
share (repeated word 3-grams).

The table gives each DPO generator's mean minus the SFT generator's, per style, with a 95%
bootstrap interval of that difference (descriptions resampled within each generator): an
interval that excludes 0 is movement, one that straddles it is noise at this scale.

A second table says what each strategy bought and what it cost in vocabulary (issue 22: on a
real corpus DPO raised style accuracy and took TF-IDF TSTR/TRTR from 0.82 to 0.49): per
generator, the style accuracy of its passing descriptions (a ``markers`` detector trained on
the real training transcripts), the Jensen-Shannon divergence of their word distribution from
the real class's (:func:`augment.wording.vocabulary_divergence`; the range real samples of the
same size show against the rest of their class beside it), and TSTR/TRTR for TF-IDF (trained
on the generator's passing descriptions, tested on the cohort's test speakers), each before
(SFT) and after DPO.

Scale: the defaults are the demo's generator settings (``eval/profiles/demo.yaml``) with DPO at
half the demo's batch and twice its learning rate, 24 descriptions per style and generator,
one torch thread. On 2 CPU cores shared with other jobs (load 4-11): SFT about 11 minutes
(two threads; cached on a rerun), each DPO adapter about 3, each generator's 48 descriptions
about 4 to 5 (a vLLM start each), so about 45 minutes in all. At this scale DPO moves the
output little: read a cell as movement only when its interval excludes 0.

Run::

    python -m bench pair_strategies
    .venv/bin/python -m bench.bench_pair_strategies --n 48 --dpo-steps 8 --dpo-batch 4   # a quieter machine

Writes ``bench-results/bench_pair_strategies.json`` (every number, the wall time of each
part, the settings) and ``bench-results/bench_pair_strategies.md`` (the table). Trained
adapters and generated files stay under ``--work`` (default ``runs/bench-pair-strategies``):
a rerun with the same settings reuses them (adapters are cached by config and data).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from bench.machine import machine_load, wall_time_footer

log = logging.getLogger(__name__)

OUT = Path("bench-results") / "bench_pair_strategies.json"
STRATEGY_RUNS = ("real", "degraded", "generated", "broken", "disfluent", "all")
MARKERS = ("iu_coverage", "words", "pronoun_ratio", "disfluency_rate")
COLUMNS = (*MARKERS, "pass_rate", "loop_share")


def _bootstrap_delta(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, draws: int = 2000) -> tuple[float, float]:
    """95% interval of mean(a) - mean(b), resampling each group on its own."""
    ia = rng.integers(0, len(a), (draws, len(a)))
    ib = rng.integers(0, len(b), (draws, len(b)))
    diffs = a[ia].mean(axis=1) - b[ib].mean(axis=1)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


def _score(records, train, extractor) -> dict[str, np.ndarray]:
    """Per description: the markers, whether it passes the filters, its loop share."""
    from augment.filters import apply_filters, repeated_ngram_share, select

    judged = apply_filters(records, training=train, extractor=extractor)
    passed = {r.id for r in select(judged)}
    out = {m: np.array([r.markers[m] for r in judged], dtype=float) for m in MARKERS}
    out["pass_rate"] = np.array([r.id in passed for r in judged], dtype=float)
    out["loop_share"] = np.array([repeated_ngram_share(r.text) for r in judged], dtype=float)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=24, help="descriptions per style per generator")
    parser.add_argument("--sft-steps", type=int, default=12, help="SFT steps (the demo's 12)")
    parser.add_argument("--dpo-steps", type=int, default=4, help="DPO steps per adapter (the demo's 4)")
    # Half the demo's batch at twice its learning rate: the same lr x pairs per step, half the time
    # (a DPO step of 4 pairs took over 2 minutes on 2 shared cores).
    parser.add_argument("--dpo-batch", type=int, default=2, help="pairs per DPO step (the demo's 4)")
    parser.add_argument("--dpo-lr", type=float, default=2.0e-4, help="DPO learning rate (the demo's 1e-4 at 4 pairs)")
    parser.add_argument("--max-pairs", type=int, default=8, help="pairs kept per (style, strategy), as in the demo")
    parser.add_argument("--samples", type=int, default=4, help="SFT samples per style for 'generated' and 'broken'")
    parser.add_argument("--max-tokens", type=int, default=128, help="tokens per generated description (the demo's)")
    # 1 by default: on a shared CPU two OpenMP threads mostly wait for each other (as in bench_dpo)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training and HF sampling")
    parser.add_argument("--work", type=Path, default=Path("runs") / "bench-pair-strategies")
    parser.add_argument("--out", type=Path, default=OUT)
    # `python -m bench` calls main() with its own argv in sys.argv: parse only what is passed here
    args = parser.parse_args(argv or [])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)

    from augment.adapters import base_model_identity, load_adapter
    from augment.base_model import resolve_base_model
    from augment.generate import read_generation
    from augment.generation_config import SamplingConfig
    from augment.pair_config import PairConfig
    from augment.pair_files import write_pairs
    from augment.pairs import build_pairs
    from augment.runner import Backend, adapter_job, run_jobs
    from augment.sampling import SampleConfig, sample_descriptions
    from augment.stages import CookieDPOConfig, CookieSFTConfig, default_lora_config, run_dpo, run_sft
    from detect.markers import MarkerExtractor
    from detect.readers import load_corpus
    from detect.records import Corpus

    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def timed(name: str, fn, *a, **kw):
        t0 = time.perf_counter()
        result = fn(*a, **kw)
        seconds[name] = round(time.perf_counter() - t0, 1)
        print(f"  {name}: {seconds[name]:.0f}s", flush=True)
        return result

    corpus = load_corpus()
    train = [t for t in corpus.by_split("train") if t.label is not None]
    test = list(corpus.by_split("test"))
    base = resolve_base_model(None)
    identity = base_model_identity(base)
    data_digest = Corpus(train).digest()
    extractor = MarkerExtractor()
    mode, styles = "conditional", ("ad", "hc")
    work = args.work
    work.mkdir(parents=True, exist_ok=True)

    # The demo's generator settings (eval/profiles/demo.yaml), steps from the options.
    sft_args = CookieSFTConfig(
        max_steps=args.sft_steps, max_length=320, learning_rate=4.0e-4, save_strategy="no", seed=0
    )
    sft = timed(
        "sft",
        run_sft,
        base,
        train,
        styles,
        mode,
        sft_args,
        default_lora_config(),
        work / "sft",
        identity=identity,
        data_digest=data_digest,
    )

    def sample_sft():
        model, tokenizer = load_adapter(base, sft.adapter, merge=True)
        return sample_descriptions(
            model, tokenizer, styles, mode, SampleConfig(n=args.samples, max_new_tokens=96, base=False, seed=0)
        )

    sft_samples = timed("sft_samples", sample_sft)

    dpo_args = CookieDPOConfig(
        max_steps=args.dpo_steps,
        max_length=320,
        learning_rate=args.dpo_lr,
        per_device_train_batch_size=args.dpo_batch,
        score_pairs=0,
        min_pairs=1,
        save_strategy="no",
        seed=0,
    )
    adapters = {"sft": sft.adapter}
    pair_summaries = {}
    for run in STRATEGY_RUNS:
        strategies = STRATEGY_RUNS[:-1] if run == "all" else (run,)
        config = PairConfig(
            strategies=strategies, styles=styles, mode=mode, max_pairs_per_strategy=args.max_pairs, seed=0
        )
        pair_set = timed(f"pairs:{run}", build_pairs, train, config, samples=sft_samples, extractor=extractor)
        write_pairs(work / run / "pairs.jsonl", pair_set.pairs, pair_set.summary)
        pair_summaries[run] = {
            "by_style_strategy": pair_set.summary.by_style_strategy,
            "mean_margin": pair_set.summary.mean_margin,
            "margin_kind": pair_set.summary.margin_kind,
            "mean_deltas": pair_set.summary.mean_deltas,
        }
        result = timed(
            f"dpo:{run}",
            run_dpo,
            base,
            sft,
            pair_set.pairs,
            styles,
            mode,
            dpo_args,
            work / run,
            identity=identity,
            data_digest=data_digest,
        )
        adapters[run] = result.adapter

    # The same sampling seeds for every generator: differences are the adapters'.
    sampling = SamplingConfig(max_tokens=args.max_tokens, seed=0)
    backend = Backend(concurrency=64, enforce_eager=True, log_dir=work / "logs")
    scores: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for name, adapter in adapters.items():
        jobs = [
            adapter_job(work / "synthetic" / f"{name}-{style}.jsonl", args.n, style, f"gen-{name}", adapter, mode=mode)
            for style in styles
        ]
        timed(f"generate:{name}", run_jobs, jobs, backend, sampling)
        scores[name] = {}
        t0 = time.perf_counter()
        for job in jobs:
            scores[name][job.style] = _score(read_generation(job.out)[: args.n], train, extractor)
        seconds[f"score:{name}"] = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    shift = vocabulary_shift(
        {
            name: [
                r for style in styles for r in read_generation(work / "synthetic" / f"{name}-{style}.jsonl")[: args.n]
            ]
            for name in adapters
        },
        train,
        test,
        extractor,
    )
    seconds["vocabulary_shift"] = round(time.perf_counter() - t0, 1)

    rng = np.random.default_rng(0)
    table: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for name in adapters:
        table[name] = {}
        for style in styles:
            row = {}
            for col in COLUMNS:
                values, ref = scores[name][style][col], scores["sft"][style][col]
                cell = {"mean": float(values.mean()), "sd": float(values.std(ddof=1)), "n": len(values)}
                if name != "sft":
                    lo, hi = _bootstrap_delta(values, ref, rng)
                    cell.update(delta=float(values.mean() - ref.mean()), ci_low=lo, ci_high=hi)
                row[col] = cell
            table[name][style] = row
    seconds["total"] = round(time.perf_counter() - started, 1)

    settings = {
        "n_per_style": args.n,
        "sft_steps": args.sft_steps,
        "dpo_steps": args.dpo_steps,
        "dpo_batch": dpo_args.per_device_train_batch_size,
        "max_pairs_per_strategy": args.max_pairs,
        "sft_samples_per_style": args.samples,
        "max_tokens": args.max_tokens,
        "mode": mode,
        "threads": args.threads,
        "train_transcripts": len(train),
        "sft_lr": 4.0e-4,
        "dpo_lr": args.dpo_lr,
    }
    result = {
        "benchmark": "pair_strategies",
        "settings": settings,
        "seconds": seconds,
        "pairs": pair_summaries,
        "table": table,
        "vocabulary_shift": shift,
        **machine_load(),
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(f"pair strategies: {len(adapters)} generators in {seconds['total']:.0f}s -> {args.out}")
    return result


def vocabulary_shift(records: dict, train, test, extractor) -> dict[str, dict[str, float]]:
    """Per generator: style accuracy and vocabulary divergence per style, TF-IDF TSTR/TRTR (quality report)."""
    from augment.quality import GeneratorData, quality_report
    from augment.tstr import Split

    report = quality_report(
        [GeneratorData(name, recs) for name, recs in records.items()],
        train,
        test_splits=[Split(train, test, [])],
        extractor=extractor,
    )
    out = {}
    for g in report.generators:
        row = {f"tstr_ratio_{u.detector}": u.ratio for u in g.utility}
        for s in g.styles:
            row |= {
                f"style_accuracy_{s.style}": s.style_accuracy,
                f"js_{s.style}": s.vocabulary_divergence,
                f"js_real_low_{s.style}": s.vocabulary_divergence_real[0],
                f"js_real_high_{s.style}": s.vocabulary_divergence_real[1],
            }
        out[g.generator] = row
    return out


def markdown(result: dict) -> str:
    s = result["settings"]
    lines = [
        "# Which pair strategy moves which marker",
        "",
        f"Simulated cohort, {s['train_transcripts']} training transcripts; one SFT adapter ({s['mode']} mode, "
        f"{s['sft_steps']} steps), then DPO from it on each strategy's pairs alone and on all together "
        f"({s['dpo_steps']} steps of {s['dpo_batch']} pairs at learning rate {s['dpo_lr']:g}, "
        f"at most {s['max_pairs_per_strategy']} pairs per style "
        f"and strategy); {s['n_per_style']} descriptions per style and generator, {s['max_tokens']} tokens at most, "
        "the same sampling seeds for all.",
        "",
        "Each cell: the DPO generator's mean minus the SFT generator's, with its 95% bootstrap interval; "
        "**bold** where the interval excludes 0. pass = passes every default-required filter; loop = share "
        "of repeated word 3-grams.",
        "",
    ]
    names = {
        "iu_coverage": "IU coverage",
        "words": "words",
        "pronoun_ratio": "pronoun ratio",
        "disfluency_rate": "disfluency",
        "pass_rate": "pass",
        "loop_share": "loop",
    }
    lines.append("| strategy | style | " + " | ".join(names[c] for c in COLUMNS) + " |")
    lines.append("|---|---|" + "---:|" * len(COLUMNS))
    table = result["table"]
    for style in ("ad", "hc"):
        sft = table["sft"][style]
        lines.append(
            f"| SFT only (level) | {style.upper()} | "
            + " | ".join(_fmt(c, sft[c]["mean"]) + f" (sd {_fmt(c, sft[c]['sd'])})" for c in COLUMNS)
            + " |"
        )
        for name in STRATEGY_RUNS:
            row = table[name][style]
            cells = []
            for c in COLUMNS:
                cell = row[c]
                low, high = _fmt(c, cell["ci_low"], sign=True), _fmt(c, cell["ci_high"], sign=True)
                text = f"{_fmt(c, cell['delta'], sign=True)} [{low}, {high}]"
                cells.append(f"**{text}**" if cell["ci_low"] > 0 or cell["ci_high"] < 0 else text)
            lines.append(f"| {name} | {style.upper()} | " + " | ".join(cells) + " |")
    if "vocabulary_shift" in result:
        lines += [
            "",
            "What each strategy bought in style accuracy and cost in vocabulary (AD / HC; the SFT row is "
            "the level before DPO): JS = Jensen-Shannon divergence (bits) of the passing descriptions' words "
            "from the real class's [range of real samples of the same size against the rest of the class]; "
            "TSTR/TRTR of TF-IDF trained on the generator's passing descriptions.",
            "",
            "| generator | style accuracy | JS to real [real range] | TSTR/TRTR tfidf | Δ style accuracy | "
            "Δ JS | Δ TSTR/TRTR |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        shift = result["vocabulary_shift"]
        sft = shift.get("sft", {})
        for name, row in shift.items():
            acc = " / ".join(f"{row.get(f'style_accuracy_{s}', float('nan')):.2f}" for s in ("ad", "hc"))
            js = " / ".join(
                f"{row.get(f'js_{s}', float('nan')):.3f} [{row.get(f'js_real_low_{s}', float('nan')):.3f}-"
                f"{row.get(f'js_real_high_{s}', float('nan')):.3f}]"
                for s in ("ad", "hc")
            )
            deltas = (
                ["-", "-", "-"]
                if name == "sft"
                else [
                    " / ".join(
                        f"{row.get(f'{k}_{s}', float('nan')) - sft.get(f'{k}_{s}', float('nan')):+.{d}f}"
                        for s in ("ad", "hc")
                    )
                    for k, d in (("style_accuracy", 2), ("js", 3))
                ]
                + [f"{row.get('tstr_ratio_tfidf', float('nan')) - sft.get('tstr_ratio_tfidf', float('nan')):+.2f}"]
            )
            lines.append(
                f"| {name} | {acc} | {js} | {row.get('tstr_ratio_tfidf', float('nan')):.2f} | "
                + " | ".join(deltas)
                + " |"
            )
    lines += ["", "Pairs each DPO adapter was trained on (style/strategy: count, mean margin):", ""]
    for name, p in result["pairs"].items():
        parts = [
            f"{k}: {n} ({p['mean_margin'].get(k, 0):.2f} {p['margin_kind'].get(k, '')})"
            for k, n in p["by_style_strategy"].items()
        ]
        lines.append(f"- {name}: " + ", ".join(parts))
    lines += wall_time_footer(result)
    return "\n".join(lines)


def _fmt(column: str, value: float, sign: bool = False) -> str:
    spec = "+.1f" if column == "words" and sign else ".1f" if column == "words" else "+.3f" if sign else ".3f"
    return format(value, spec)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
