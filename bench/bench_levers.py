"""What each generation lever moves: one row per setting, measured as the quality report measures.

The levers (issue 22), by what they cost: the spoken register (completions rendered as the corpus
renders speech, :func:`augment.prompts.spoken`), a logit bias on the filler tokens, per-record
prompt variation for prompt-only (the examiner's wording and a target length; the scene as
keywords instead of prose), all on the demo's own generators; and, in :data:`MORE_LEVERS` (run
with ``--only``), the rows that train generators of their own (the same prompt designs for SFT,
DPO settings, SFT batch) and more decoding settings (frequency penalty, which also punishes the
repeated words that are retracings and repeated fillers; temperature; length floor). Every row is
generated from the demo's generator and generation settings (``eval/profiles/demo.yaml``) with one
thing changed, and read by :func:`augment.quality.quality_report` against the real base: filter
pass rate, near-copies of a training transcript among all candidates, style accuracy, markers in
real class SDs, distinct-2 against the real range, scene reuse (synthetic vs real), the
vocabulary's Jensen-Shannon divergence from the real class, TSTR/TRTR for TF-IDF and markers.

Base: the simulated cohort's training split less the share the demo holds back
(``protocol.reserve`` of ``eval/profiles/demo.yaml``, read at run time, stratified by label,
``protocol.seed``): the speakers the demo's generators train on (16 of 108 at a reserve of 0.85);
``--base N`` trains on N speakers instead. TSTR/TRTR test on the cohort's 48
test speakers; the real reference of every measure (marker means and SDs, real ranges, scene
reuse, near-copies) is the whole training split, base and reserve (the base alone has 8 speakers
per class, too few for a real range over ``--n`` texts); a near-copy is one of a base transcript
(what the generators saw, as the demo's privacy filter reads it); TRTR trains on the base, as the
demo's does; no test speaker reaches a generator or a reference. Paired: rows that differ in decoding or rendering
only share the adapters and the sampling seeds (record i has seed i in every row), so their
differences are the lever's; the spoken register is applied to the same completions. Each row
has ``--n`` candidates per style and generator, one description each (no best-of-n draw), so a
row is a quick read, not the demo's kept set.

Run (each run resumes: adapters are cached by config and data, generation files are completed
to ``--n`` records; keep each call under 10 minutes on a shared machine with ``timeout``)::

    nice -n 10 timeout 590 .venv/bin/python -m bench.bench_levers            # again until it prints the table
    nice -n 10 timeout 590 .venv/bin/python -m bench.bench_levers --base 24  # the low-resource base
    python -m bench levers

Writes ``bench-results/levers.json`` (every report, the settings, the wall times) and
``bench-results/levers.md`` (the table); ``--base N`` writes ``levers-base<N>.*``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.machine import machine_load, wall_time_footer

log = logging.getLogger(__name__)

OUT = Path("bench-results") / "levers.json"
GENERATORS = ("sft", "dpo", "prompt-only")


@dataclass(frozen=True)
class Lever:
    """One row: the generators trained as ``train`` says, sampled with ``sampling`` changed, prompt-only
    asked with ``prompt_only`` changed; ``spoken``: the completions of row ``same_as`` rendered spoken."""

    name: str
    what: str
    train: str = "demo"
    sampling: dict[str, Any] = field(default_factory=dict)
    prompt_only: dict[str, Any] | None = None  # None: prompt-only is not generated in this row
    same_as: str | None = None
    spoken: bool = False
    stages: tuple[str, ...] = ("sft", "dpo")  # a DPO-only variant's sft is today's: not generated again


# LoRA on the MLP too: the register (lower case, fillers, restarts) is lexical, which attention alone
# learns slowly at a few steps.
LORA_ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

DEMO_PAIRS = ["real", "degraded", "broken"]  # eval/profiles/demo.yaml's pair strategies

# Changes to the demo's generator section, per trained variant. DPO variants continue the demo's SFT
# adapters (copied, so the cache finds them): what they move is DPO's alone.
TRAINING: dict[str, dict[str, dict[str, Any]]] = {
    "demo": {},
    "varied": {"sft": {"prompt_instruction": "varied", "prompt_length": True}},
    "keywords": {"sft": {"prompt_scene": "keywords"}},
    "batch8": {"sft": {"per_device_train_batch_size": 8}},
    "dpo-beta0.5": {"dpo": {"beta": 0.5}},
    "dpo-real-broken": {"pairs": {"strategies": ["real", "broken"]}},
    "sft14": {"sft": {"max_steps": 14}},
    "sft14-mlp": {"sft": {"max_steps": 14}, "lora": {"target_modules": LORA_ALL_LINEAR}},
    "sft14-neftune": {"sft": {"max_steps": 14, "neftune_noise_alpha": 5.0}},
    "dpo2": {"dpo": {"max_steps": 2}},
    "dpo-hc-disfluent": {"pairs": {"strategies": {"ad": DEMO_PAIRS, "hc": [*DEMO_PAIRS, "disfluent"]}}},
    "dpo-disfluent": {"pairs": {"strategies": [*DEMO_PAIRS, "disfluent"]}},
    "dpo-disfluent-ad-nodegraded": {
        "pairs": {"strategies": {"ad": ["real", "broken", "disfluent"], "hc": [*DEMO_PAIRS, "disfluent"]}}
    },
}

# Sampling from the model's own distribution: fillers ("uh" is two tokens) and restarts are frequent
# but never the likeliest next token, so min-p truncation removes them.
UNTRUNCATED = {"temperature": 1.0, "min_p": 0.0}

# A length target is only free to vary if the token floor and ceiling let it.
LOOSE_LENGTH = {"min_tokens": 24, "max_tokens": 192}

LEVERS: tuple[Lever, ...] = (
    Lever("today", "the demo's settings", prompt_only={}),
    Lever("spoken", "today's completions rendered as the corpus renders speech", same_as="today", spoken=True),
    Lever("fillers1.5", "logit bias 1.5 on the filler token ' um' (0)", sampling={"filler_bias": 1.5}),
    Lever("fillers3", "logit bias 3 on the filler token ' um' (0)", sampling={"filler_bias": 3.0}),
    Lever("fillers4.5", "logit bias 4.5 on the filler token ' um' (0)", sampling={"filler_bias": 4.5}),
    Lever("fp0", "frequency penalty 0 (0.3)", sampling={"frequency_penalty": 0.0}),
    Lever(
        "length-fixed",
        "one token budget for every record (length_spread 0; the demo: 0.5)",
        sampling={"length_spread": 0.0},
        prompt_only={},
    ),
    Lever(
        "length-spread",
        "each record's token floor and ceiling scaled all the way to a real length drawn for it (0.5)",
        sampling={"length_spread": 1.0},
        prompt_only={},
    ),
    Lever("temp1.1", "temperature 1.1 (0.9)", sampling={"temperature": 1.1}),
    Lever(
        "loose-length",
        f"min/max tokens {LOOSE_LENGTH['min_tokens']}/{LOOSE_LENGTH['max_tokens']} (96/128)",
        sampling=LOOSE_LENGTH,
    ),
    Lever(
        "po-varied",
        "prompt-only: instruction wording varied and a target length per record; loose length",
        sampling=LOOSE_LENGTH,
        prompt_only={"instruction": "varied", "length": True},
        stages=(),
    ),
    Lever(
        "po-keywords",
        "prompt-only: the scene as shuffled keywords, not prose",
        prompt_only={"scene": "keywords"},
        stages=(),
    ),
    Lever("dpo-beta0.5", "DPO beta 0.5 (0.1); sft: today's", train="dpo-beta0.5", stages=("dpo",)),
    Lever("dpo2", "DPO 2 steps (4); sft: today's", train="dpo2", stages=("dpo",)),
    Lever(
        "dpo-hc-disfluent",
        "DPO pairs: HC adds disfluent (real HC speech over its fluent version); sft: today's",
        train="dpo-hc-disfluent",
        stages=("dpo",),
    ),
    Lever(
        "dpo-disfluent",
        "DPO pairs: both styles add disfluent (real speech over its fluent version); sft: today's",
        train="dpo-disfluent",
        stages=("dpo",),
    ),
    Lever(
        "dpo-disfluent-ad-nodegraded",
        "DPO pairs: both styles add disfluent, AD without degraded (its content drop); sft: today's",
        train="dpo-disfluent-ad-nodegraded",
        stages=("dpo",),
    ),
)
# Cut from the demo-base run for time: on 2 shared cores one set of the demo's generators (SFT and DPO,
# both styles) took ~40 minutes to train, generation seconds per row. `--only` runs any of them.
MORE_LEVERS: tuple[Lever, ...] = (
    Lever(
        "varied",
        "instruction wording varied and a target length per record; loose length",
        train="varied",
        sampling=LOOSE_LENGTH,
        prompt_only={"instruction": "varied", "length": True},
    ),
    Lever("keywords", "the scene as shuffled keywords, not prose", train="keywords", prompt_only={"scene": "keywords"}),
    Lever("fp0.1", "frequency penalty 0.1 (0.3)", sampling={"frequency_penalty": 0.1}),
    Lever("batch8", "SFT 8 transcripts per step (4)", train="batch8"),
    Lever(
        "dpo-real-broken",
        "DPO pairs real + broken (no degraded); sft: today's",
        train="dpo-real-broken",
        stages=("dpo",),
    ),
    Lever("sft14", "SFT 14 steps (7)", train="sft14"),
    Lever("sft14-mlp", "SFT 14 steps (7), LoRA on the MLP too (attention only)", train="sft14-mlp"),
    Lever("sft14-t1", "SFT 14 steps; temperature 1, min-p 0 (0.9, 0.1)", train="sft14", sampling=UNTRUNCATED),
    Lever(
        "sft14-pure",
        "SFT 14 steps; temperature 1, min-p 0, frequency penalty 0 (0.9, 0.1, 0.3)",
        train="sft14",
        sampling={**UNTRUNCATED, "frequency_penalty": 0.0},
    ),
    Lever(
        "sft14-t0.9",
        "SFT 14 steps; min-p 0, frequency penalty 0 (0.1, 0.3)",
        train="sft14",
        sampling={"min_p": 0.0, "frequency_penalty": 0.0},
    ),
    Lever("sft14-minp0", "SFT 14 steps; min-p 0 (0.1)", train="sft14", sampling={"min_p": 0.0}),
    Lever(
        "sft14-fp0.15",
        "SFT 14 steps; min-p 0, frequency penalty 0.15 (0.1, 0.3)",
        train="sft14",
        sampling={"min_p": 0.0, "frequency_penalty": 0.15},
    ),
    Lever(
        "sft14-t0.8",
        "SFT 14 steps; temperature 0.8, min-p 0 (0.9, 0.1)",
        train="sft14",
        sampling={"temperature": 0.8, "min_p": 0.0},
    ),
    Lever(
        "sft14-neftune-t0.8",
        "SFT 14 steps with NEFTune noise (alpha 5) against memorising; temperature 0.8, min-p 0 (0.9, 0.1)",
        train="sft14-neftune",
        sampling={"temperature": 0.8, "min_p": 0.0},
    ),
    Lever(
        "sft14-minp0.03",
        "SFT 14 steps; temperature 1, min-p 0.03, frequency penalty 0 (0.9, 0.1, 0.3)",
        train="sft14",
        sampling={"temperature": 1.0, "min_p": 0.03, "frequency_penalty": 0.0},
    ),
    Lever(
        "sft14-topp0.95",
        "SFT 14 steps; temperature 1, top-p 0.95, min-p 0, frequency penalty 0 (0.9, 1, 0.1, 0.3)",
        train="sft14",
        sampling={**UNTRUNCATED, "top_p": 0.95, "frequency_penalty": 0.0},
    ),
    Lever(
        "sft14-mlp-t0.9",
        "SFT 14 steps, LoRA on the MLP too; min-p 0, frequency penalty 0 (0.1, 0.3)",
        train="sft14-mlp",
        sampling={"min_p": 0.0, "frequency_penalty": 0.0},
    ),
    Lever(
        "sft14-mlp-pure",
        "SFT 14 steps, LoRA on the MLP too; temperature 1, min-p 0, frequency penalty 0",
        train="sft14-mlp",
        sampling={**UNTRUNCATED, "frequency_penalty": 0.0},
    ),
)


def _generator_config(demo, changes: dict[str, dict[str, Any]]):
    """The demo's generator config (as the benchmark builds it) with ``changes`` per section; checkpoints
    every step (not part of the cache key), so that a run stopped by its timeout resumes where it was."""
    from augment.stages import default_lora_config
    from eval.components import generator_config

    config = generator_config(demo)
    if list(config.pairs.strategies) != DEMO_PAIRS:  # the pair levers are written against them
        raise SystemExit(f"the demo's pair strategies are {config.pairs.strategies}: update DEMO_PAIRS")
    sft = dataclasses.replace(config.sft, save_steps=1, **changes.get("sft", {}))
    dpo = dataclasses.replace(config.dpo, save_steps=1, **changes.get("dpo", {}))
    pairs = dataclasses.replace(config.pairs, **changes.get("pairs", {}))
    lora = default_lora_config(**changes["lora"]) if "lora" in changes else config.lora
    return dataclasses.replace(config, sft=sft, dpo=dpo, pairs=pairs, lora=lora)


def train(name: str, demo, base, work: Path, extractor) -> dict[str, dict[str, Path]]:
    """stage -> style -> adapter folder of the trained variant ``name``."""
    from augment.train import train_generators

    changes = TRAINING[name]
    out = work / "generators" / name
    if name != "demo" and not changes.get("sft"):
        for unit in ("ad", "hc"):  # the demo's SFT, so that only DPO differs
            source, target = work / "generators" / "demo" / unit / "sft", out / unit / "sft"
            if not (target / "adapter").exists():
                shutil.copytree(source, target, dirs_exist_ok=True)
    report = train_generators(base, out, _generator_config(demo, changes), extractor=extractor)
    return {
        "sft": {u: r.sft.adapter for u, r in report.units.items()},
        "dpo": {u: r.dpo.adapter for u, r in report.units.items()},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base",
        type=int,
        default=None,
        help="training speakers (default: the demo's base, protocol.reserve held back)",
    )
    parser.add_argument(
        "--n",
        type=int,
        default=20,
        help="candidates per style and generator (distinct-2 is read over 20 texts, as the issue reads it)",
    )
    parser.add_argument("--only", default="", help="comma-separated lever names (default: all)")
    parser.add_argument("--work", type=Path, default=Path("runs") / "bench-levers")
    parser.add_argument("--out", type=Path, default=None)
    # `python -m bench` calls main() with its own argv in sys.argv: parse only what is passed here
    args = parser.parse_args(argv or [])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from detect.markers import MarkerExtractor

    started = time.perf_counter()
    demo, corpus, base, test, base_note = _base(args.base)
    # The real side of every measure: the whole training split (base and reserve; never a test speaker),
    # so that a real range over --n texts is drawn from more than the base's 8 per class. TRTR trains
    # on the base alone, as the demo's does.
    reference = [t for t in corpus.by_split("train") if t.label is not None]
    suffix = f"-base{len({t.speaker_id for t in base})}" if args.base else ""
    out_path = args.out or OUT.with_name(f"levers{suffix}.json")
    work = args.work / (suffix.lstrip("-") or "demo-base")
    levers = (
        list(LEVERS)
        if not args.only
        else [lever for lever in (*LEVERS, *MORE_LEVERS) if lever.name in args.only.split(",")]
    )
    extractor = MarkerExtractor(cache_dir=work / "cache", show_progress=False)
    seconds: dict[str, float] = {}

    adapters = {}
    for name in dict.fromkeys(lever.train for lever in levers if not lever.same_as):
        t0 = time.perf_counter()
        adapters[name] = train(name, demo, base, work, extractor)
        seconds[f"train:{name}"] = round(time.perf_counter() - t0, 1)
        print(f"  trained {name}: {seconds[f'train:{name}']:.0f}s", flush=True)

    t0 = time.perf_counter()
    files = generate(levers, adapters, demo, base, work, args.n)
    seconds["generate"] = round(time.perf_counter() - t0, 1)

    rows = []
    for lever in levers:
        t0 = time.perf_counter()
        rows.append(measure(lever, files, base, reference, test, demo, extractor, args.n))
        seconds[f"measure:{lever.name}"] = round(time.perf_counter() - t0, 1)
    seconds["total"] = round(time.perf_counter() - started, 1)
    result = {
        "benchmark": "levers",
        "base": base_note,
        "n_per_style": args.n,
        "settings": {"generation": _jsonable(demo.generation), "generator": _jsonable(demo.generator)},
        "levers": [dataclasses.asdict(lever) for lever in levers],
        "rows": rows,
        "seconds": seconds,
        **machine_load(),
        "python": platform.python_version(),
        "command": " ".join(["python -m bench.bench_levers", *(argv or [])]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs (shared), no GPU"
        if not _has_gpu()
        else f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, a GPU",
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    out_path.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(f"levers: {len(rows)} rows in {seconds['total']:.0f}s -> {out_path}")
    return result


def _base(speakers: int | None):
    """(demo config, corpus, base transcripts, test transcripts, the base in words)."""
    from detect import cv
    from detect.readers import load_corpus
    from eval.config import load_config
    from eval.plan import split_reserve

    demo = load_config("demo")
    corpus = cv.evaluable(load_corpus())
    train_speakers = tuple(sorted(corpus.by_split("train").speakers()))
    share = demo.protocol.reserve if speakers is None else 1 - speakers / len(train_speakers)
    base_speakers, _ = split_reserve(corpus, train_speakers, share, demo.protocol.seed)
    base = [t for t in corpus.by_speakers(base_speakers) if t.label is not None]
    test = list(corpus.by_split("test"))
    note = (
        f"the simulated cohort's training split, {len(base_speakers)} of its {len(train_speakers)} speakers "
        f"({share:.0%} held back, stratified, seed {demo.protocol.seed}"
        f"{', as the demo' if speakers is None else ''}); tested on its {len(corpus.by_split('test').speakers())} "
        "test speakers"
    )
    return demo, corpus, base, test, note


def _files(work: Path, lever: Lever, generator: str, style: str) -> Path:
    return work / "synthetic" / lever.name / f"{generator}-{style}.jsonl"


def generate(levers, adapters, demo, base, work: Path, n: int) -> dict[tuple[str, str, str], Path]:
    """Every row's files, one vLLM start per generator: the rows that share an adapter run on it in turn."""
    from augment import prompt_only, runner
    from augment.prompts import real_lengths
    from eval.components import generation_backend, sampling_config

    backend = generation_backend(demo, work)
    base_sampling = dataclasses.replace(sampling_config(demo), candidates=1)  # one description each, no best of n
    jobs: dict[Any, list[tuple[runner.Job, Any]]] = {}  # generator -> (job, sampling)
    files = {}
    for lever in levers:
        if lever.same_as:
            continue
        sampling = dataclasses.replace(base_sampling, **lever.sampling)
        for style in ("ad", "hc"):
            lengths = real_lengths(base, style)  # what the generators trained on, as the demo draws
            for stage in lever.stages:
                out = _files(work, lever, stage, style)
                job = runner.adapter_job(
                    out,
                    n,
                    style,
                    f"{lever.train}-{stage}-{style}",
                    adapters[lever.train][stage][style],
                    mode=demo.generator.mode,
                    lengths=lengths,
                )
                jobs.setdefault((job.generator.base_model, job.generator.adapter), []).append((job, sampling))
                files[lever.name, stage, style] = out
            if lever.prompt_only is not None:
                config = prompt_only.PromptOnlyConfig(
                    shots=demo.generation.few_shot, seed=demo.protocol.seed, **lever.prompt_only
                )
                out = _files(work, lever, "prompt-only", style)
                prompter = prompt_only.FewShotPrompter(base, style, config)
                job = runner.prompt_only_job(out, n, style, prompter, lengths=lengths)
                jobs.setdefault((job.generator.base_model, None), []).append((job, sampling))
                files[lever.name, "prompt-only", style] = out
    for pending in jobs.values():
        todo = [(job, sampling) for job, sampling in pending if runner.pending(job, backend, sampling)[0]]
        if not todo:
            continue
        with runner.started([todo[0][0].generator], backend) as running:
            for job, sampling in todo:
                t0 = time.perf_counter()
                running.run(job, sampling)
                print(f"  generated {job.out.parent.name}/{job.out.name}: {time.perf_counter() - t0:.0f}s", flush=True)
    for lever in levers:
        if lever.same_as:
            for (name, generator, style), path in list(files.items()):
                if name == lever.same_as:
                    files[lever.name, generator, style] = path
    return files


def measure(lever: Lever, files, base, reference, test, demo, extractor, n: int) -> dict:
    """The quality report of the row's generators, and the marker SDs behind its length spread."""
    import numpy as np

    from augment.generate import read_generation
    from augment.prompts import spoken
    from augment.quality import GeneratorData, quality_report
    from augment.tstr import Split

    generators = []
    for generator in GENERATORS:
        records = [
            r
            for style in ("ad", "hc")
            if (lever.name, generator, style) in files
            for r in read_generation(files[lever.name, generator, style])[:n]
        ]
        if lever.spoken:
            records = [r.model_copy(update={"text": spoken(r.text)}) for r in records]
        if records:
            generators.append(GeneratorData(generator, records))
    report = quality_report(
        generators,
        reference,
        privacy_training=base,
        test_splits=[Split(base, test, [])],
        filters=demo.filters,
        extractor=extractor,
        test=f"the cohort's test split ({len(test)} speakers)",
    )
    frame = report.frame()
    real = extractor.transform(reference)
    spread = {}
    for g in generators:
        for style in ("ad", "hc"):
            candidates = [r.to_transcript() for r in g.records if r.style == style]
            words = extractor.transform(candidates)["words"] if candidates else []
            real_words = real["words"][[t.label.value == style.upper() for t in reference]]
            if len(words) > 1:
                spread[f"{g.name}/{style.upper()}"] = float(np.std(words, ddof=1) / np.std(real_words, ddof=1))
    return {
        "lever": lever.name,
        "report": json.loads(report.model_dump_json()),
        "frame": json.loads(frame.to_json(orient="records")),
        "words_sd_ratio_candidates": spread,
    }


COLUMNS = (  # (title, frame column, format); "AD / HC" per cell
    ("pass", "pass_rate", "{:.0%}"),
    ("near-copies", "near_copy_rate", "{:.0%}"),
    ("style acc", "style_accuracy", "{:.2f}"),
    ("IU cov (sd)", "d_iu_coverage", "{:+.2f}"),
    ("words (sd)", "d_words", "{:+.2f}"),
    ("MATTR (sd)", "d_mattr", "{:+.2f}"),
    ("disfluency (sd)", "d_disfluency_rate", "{:+.2f}"),
    ("filler (sd)", "d_filler_rate", "{:+.2f}"),
    ("retracing (sd)", "d_retracing_rate", "{:+.2f}"),
)


def markdown(result: dict) -> str:
    lines = [
        "# What each generation lever moves",
        "",
        f"Command: `{result['command']}` (repeated until it printed the table; it resumes). {result['date']}, "
        f"{result['machine']}, Python {result['python']}.",
        "",
        f"Base: {result['base']}. {result['n_per_style']} candidates per style and generator, one description "
        "each (no best-of-n draw); the demo's generator and generation settings otherwise. Simulated data: "
        "not clinical results.",
        "",
        "Each cell is AD / HC. pass: the filters' pass rate; near-copies: candidates sharing an 8-word run with "
        "a training transcript (privacy filter), of all candidates; markers: (synthetic - real class mean) / "
        "real class SD, target within ±0.5; distinct-2 [real range at that size]; scene: share of word 4-grams "
        "found in the scene texts, synthetic (real class); JS: vocabulary divergence from the real class "
        "[real samples' range]; TSTR/TRTR per generator.",
        "",
        "| lever | gen | "
        + " | ".join(t for t, _, _ in COLUMNS)
        + " | distinct-2 | scene reuse | JS | TSTR/TRTR tfidf | markers |",
        "|---|---|" + "---:|" * (len(COLUMNS) + 5),
    ]
    for row in result["rows"]:
        for generator in GENERATORS:
            cells = {r["style"]: r for r in row["frame"] if r["generator"] == generator}
            if not cells:
                continue
            ad, hc = cells.get("AD", {}), cells.get("HC", {})

            def pair(column: str, fmt: str, ad=ad, hc=hc) -> str:
                return " / ".join(fmt.format(c[column]) if c.get(column) is not None else "-" for c in (ad, hc))

            parts = [pair(column, fmt) for _, column, fmt in COLUMNS]
            parts.append(
                " / ".join(
                    f"{c['distinct_2']:.2f} [{c['distinct_2_real_low']:.2f}-{c['distinct_2_real_high']:.2f}]"
                    for c in (ad, hc)
                    if c
                )
            )
            parts.append(" / ".join(f"{c['scene_reuse']:.3f} ({c['scene_reuse_real']:.3f})" for c in (ad, hc) if c))
            parts.append(
                " / ".join(
                    f"{c['vocabulary_divergence']:.3f} [{c['vocabulary_divergence_real_low']:.3f}-"
                    f"{c['vocabulary_divergence_real_high']:.3f}]"
                    for c in (ad, hc)
                    if c
                )
            )
            first = ad or hc
            parts += [
                f"{first.get('tstr_ratio_tfidf', float('nan')):.2f}",
                f"{first.get('tstr_ratio_markers', float('nan')):.2f}",
            ]
            lines.append(f"| {row['lever']} | {generator} | " + " | ".join(parts) + " |")
    lines += ["", "Levers:", ""]
    lines += [f"- **{lever['name']}**: {lever['what']}" for lever in result["levers"]]
    lines += [
        "",
        "Words SD, candidates / real class (length spread): "
        + "; ".join(
            f"{row['lever']} " + ", ".join(f"{k} {v:.2f}" for k, v in row["words_sd_ratio_candidates"].items())
            for row in result["rows"]
        ),
    ]
    lines += wall_time_footer(result)
    return "\n".join(lines)


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def _jsonable(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
