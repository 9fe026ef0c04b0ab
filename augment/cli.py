"""Command groups of :mod:`augment`: ``cookiebench models ...`` and ``cookiebench augment ...``.

    cookiebench models prepare [--force]
    cookiebench augment pairs --out pairs.jsonl [--strategies real,degraded] [--style both]
    cookiebench augment train --style ad|hc|both --mode separate|conditional --out runs/generators

Each command parses its options, builds the typed configs and calls one library function;
bad input raises a :class:`detect.errors.UserError`, which the ``cookiebench`` app prints
as one line with exit code 1.
"""

from __future__ import annotations

import json
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from detect.corpus_cli import ReportOpt, SkipBadOpt, VisitsOpt, read_options
from detect.readers import ReadOptions, Visits, log_read_report
from augment.prompts import StyleChoice
from detect.errors import one_line
from detect.logs import log_file

models_app = typer.Typer(help="Base models: prepare the local SmolLM2 folder.", no_args_is_help=True)
augment_app = typer.Typer(help="Preference pairs, generator training and generation.", no_args_is_help=True)
console = Console(stderr=True)


class ModeChoice(str, Enum):
    separate = "separate"
    conditional = "conditional"


def _strategies(text: str) -> tuple[str, ...]:
    from augment.pairs import STRATEGIES

    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in chosen if s not in STRATEGIES]
    if bad or not chosen:
        raise typer.BadParameter(f"choose from {', '.join(STRATEGIES)} (comma-separated), got {text!r}")
    return chosen


def _transcripts(corpus: Path | None, split: str, read: ReadOptions):
    loaded, report = read.load(corpus)
    return (loaded if split == "all" else loaded.by_split(split)), report


def _stage_progress():
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console)


# -- models -----------------------------------------------------------------------------------------


@models_app.command()
def prepare(
    cache_dir: Annotated[Path | None, typer.Option(help="Models cache (default $COOKIEBENCH_HOME/models or ~/.cache/cookiebench/models).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if a verified folder exists.")] = False,
) -> None:
    """Convert the shipped SmolLM2-135M-Instruct GGUF into a Hugging Face folder (once) and print its path."""
    from augment.base_model import prepare_base_model

    with _stage_progress() as progress:
        progress.add_task("preparing SmolLM2-135M-Instruct", total=None)
        path = prepare_base_model(cache_dir, force=force)
    typer.echo(str(path))


# -- augment ----------------------------------------------------------------------------------------


@augment_app.command()
def pairs(
    out: Annotated[Path, typer.Option(help="Pairs JSONL to write (a .summary.json goes beside it).")],
    corpus: Annotated[Path | None, typer.Option(help="Corpus folder or file (default: the shipped simulated cohort).")] = None,
    split: Annotated[str, typer.Option(help="Which transcripts to use: train, test or all. Never pair test speakers you evaluate on.")] = "train",
    style: Annotated[StyleChoice, typer.Option(help="Target style(s) of the pairs.")] = StyleChoice.both,
    mode: Annotated[ModeChoice, typer.Option(help="Prompt mode: separate (one adapter per style) or conditional.")] = ModeChoice.separate,
    strategies: Annotated[str, typer.Option(help="Comma-separated: real, degraded, generated.")] = "real,degraded",
    samples: Annotated[Path | None, typer.Option(help="SFT samples JSONL ({style, text} lines), needed by 'generated'.")] = None,
    min_margin: Annotated[float, typer.Option(help="Drop pairs whose style-axis margin is below this.")] = 0.2,
    intensity: Annotated[float, typer.Option(help="Degradation intensity, 0 to 1.")] = 0.6,
    rejected_per_chosen: Annotated[int, typer.Option(help="Real pairing: other-style texts per chosen text.")] = 2,
    max_pairs: Annotated[int | None, typer.Option(help="Cap per (style, strategy).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling and degradation.")] = 0,
    skip_bad: SkipBadOpt = False,
    report: ReportOpt = None,
    visits: VisitsOpt = Visits.all,
) -> None:
    """Build DPO preference pairs from real transcripts (and degradations, and SFT samples)."""
    from augment.pairs import PairConfig, build_pairs, read_samples, write_pairs

    try:
        config = PairConfig(strategies=_strategies(strategies), styles=style.styles(), mode=mode.value,
                            min_margin=min_margin, degrade_intensity=intensity,
                            rejected_per_chosen=rejected_per_chosen, max_pairs_per_strategy=max_pairs, seed=seed)
    except ValueError as e:
        raise typer.BadParameter(one_line(e)) from None
    transcripts, _ = _transcripts(corpus, split, read_options(skip_bad, report, visits))
    sample_texts = read_samples(samples) if samples else None
    with _stage_progress() as progress:
        progress.add_task(f"building pairs from {len(transcripts)} transcripts", total=None)
        result = build_pairs(transcripts, config, samples=sample_texts)
    write_pairs(out, result.pairs, result.summary)

    table = Table(title=f"{len(result.pairs)} pairs -> {out}")
    for column in ("style/strategy", "pairs", "dropped (margin)", "mean margin", "Δ IU coverage", "Δ words",
                   "Δ pronoun ratio", "Δ disfluency"):
        table.add_column(column, justify="left" if column == "style/strategy" else "right")
    s = result.summary
    for key in sorted(set(s.by_style_strategy) | set(s.dropped_margin)):
        d = s.mean_deltas.get(key, {})
        table.add_row(key, str(s.by_style_strategy.get(key, 0)), str(s.dropped_margin.get(key, 0)),
                      f"{s.mean_margin.get(key, 0):.2f}", f"{d.get('iu_coverage', 0):+.3f}", f"{d.get('words', 0):+.1f}",
                      f"{d.get('pronoun_ratio', 0):+.3f}", f"{d.get('disfluency_rate', 0):+.3f}")
    Console().print(table)
    if s.dropped_duplicates:
        typer.echo(f"{s.dropped_duplicates} exact duplicates removed")


@augment_app.command()
def train(
    out: Annotated[Path, typer.Option(help="Output folder: adapters, pairs, samples, marker comparison.")],
    style: Annotated[StyleChoice, typer.Option(help="Which style adapter(s) to train.")] = StyleChoice.both,
    mode: Annotated[ModeChoice, typer.Option(help="separate: one adapter per style; conditional: one adapter, style in the prompt.")] = ModeChoice.separate,
    corpus: Annotated[Path | None, typer.Option(help="Corpus folder or file (default: the shipped simulated cohort).")] = None,
    split: Annotated[str, typer.Option(help="Which transcripts to train on: train, test or all.")] = "train",
    base_model: Annotated[Path | None, typer.Option(help="A local Hugging Face causal-LM folder (default: the prepared SmolLM2).")] = None,
    sft_epochs: Annotated[float, typer.Option(help="SFT epochs.")] = 2.0,
    sft_lr: Annotated[float, typer.Option(help="SFT learning rate.")] = 2e-4,
    dpo: Annotated[bool, typer.Option("--dpo/--no-dpo", help="Run DPO after SFT.")] = True,
    dpo_epochs: Annotated[float, typer.Option(help="DPO epochs.")] = 1.0,
    dpo_lr: Annotated[float, typer.Option(help="DPO learning rate.")] = 5e-5,
    beta: Annotated[float, typer.Option(help="DPO beta (deviation penalty from the SFT reference).")] = 0.1,
    loss_type: Annotated[str, typer.Option(help="DPO loss type(s), comma-separated (TRL names: sigmoid, ipo, hinge, ...).")] = "sigmoid",
    precompute_ref: Annotated[bool, typer.Option(help="Precompute reference log-probs once instead of every step.")] = False,
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    lora_alpha: Annotated[int, typer.Option(help="LoRA alpha.")] = 32,
    max_length: Annotated[int, typer.Option(help="Tokens per example (prompt + description).")] = 320,
    batch_size: Annotated[int, typer.Option(help="Examples (SFT) or pairs (DPO) per step.")] = 4,
    strategies: Annotated[str, typer.Option(help="Pair strategies, comma-separated: real, degraded, generated.")] = "real,degraded,generated",
    min_margin: Annotated[float, typer.Option(help="Drop pairs whose style-axis margin is below this.")] = 0.2,
    max_pairs: Annotated[int | None, typer.Option(help="Pairs kept per (style, strategy).")] = 24,
    min_transcripts: Annotated[int, typer.Option(help="Fewer transcripts of a style than this is an error.")] = 8,
    samples: Annotated[int, typer.Option(help="Descriptions sampled per style after each stage.")] = 24,
    seed: Annotated[int, typer.Option(help="Training, pairing and sampling seed.")] = 42,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI (default: the local store under mlflow/).")] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment.")] = "cookiebench-generators",
    track: Annotated[bool, typer.Option("--track/--no-track", help="Log to MLflow.")] = True,
    skip_bad: SkipBadOpt = False,
    read_report: ReportOpt = None,
    visits: VisitsOpt = Visits.all,
) -> None:
    """SFT then DPO of AD-style and/or HC-style LoRA adapters; resumes an interrupted run in the same --out."""
    from augment.pairs import PairConfig
    from augment.sampling import SampleConfig
    from augment.stages import CookieDPOConfig, CookieSFTConfig, default_lora_config
    from augment.train import GeneratorConfig, train_generators

    try:
        config = GeneratorConfig(
            styles=style.styles(), mode=mode.value, base_model=str(base_model) if base_model else None,
            sft=CookieSFTConfig(output_dir=str(out), num_train_epochs=sft_epochs, learning_rate=sft_lr,
                                max_length=max_length, per_device_train_batch_size=batch_size, seed=seed,
                                min_transcripts=min_transcripts),
            dpo=CookieDPOConfig(output_dir=str(out), num_train_epochs=dpo_epochs, learning_rate=dpo_lr, beta=beta,
                                loss_type=[t.strip() for t in loss_type.split(",") if t.strip()],
                                precompute_ref_log_probs=precompute_ref, max_length=max_length,
                                per_device_train_batch_size=batch_size, seed=seed) if dpo else None,
            lora=default_lora_config(r=lora_r, alpha=lora_alpha),
            pairs=PairConfig(strategies=_strategies(strategies), min_margin=min_margin,
                             max_pairs_per_strategy=max_pairs, seed=seed),
            sampling=SampleConfig(n=samples, seed=seed),
            tracking_uri=tracking_uri, experiment=experiment, track=track,
        )
    except ValueError as e:
        raise typer.BadParameter(one_line(e)) from None
    transcripts, read = _transcripts(corpus, split, read_options(skip_bad, read_report, visits))
    log_path = out / "logs" / f"train-{time.strftime('%Y%m%d-%H%M%S')}.log"
    console.print(f"log (transformers, TRL, training steps): {log_path}")
    with log_file(log_path), _stage_progress() as progress:
        task = progress.add_task("starting", total=None)
        report = train_generators(transcripts, out, config,
                                  on_stage=lambda label: progress.update(task, description=label))
    if report.run_id:
        log_read_report(read, report.run_id)

    table = Table(title=f"Markers: samples vs real ({report.comparison_path})")
    table.add_column("group")
    for column in report.comparison.columns:
        table.add_column(column, justify="right")
    for group, row in report.comparison.iterrows():
        table.add_row(group, *(f"{v:.3g}" for v in row))
    Console().print(table)
    summary = {name: {"sft": str(u.sft.adapter), "dpo": str(u.dpo.adapter) if u.dpo else None}
               for name, u in report.units.items()}
    typer.echo(json.dumps(summary, indent=2))


# `cookiebench augment generate` is registered below by the serving module (one line).
from augment.serve_cli import classic_command, filter_command, generate_command  # noqa: E402

augment_app.command("generate")(generate_command)
augment_app.command("filter")(filter_command)
augment_app.command("classic")(classic_command)
