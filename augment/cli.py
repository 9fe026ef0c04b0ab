"""Command groups of :mod:`augment`: ``cookiebench models ...``, ``cookiebench augment ...`` and ``cookiebench serve``.

    cookiebench models prepare [--force]
    cookiebench augment pairs --out pairs.jsonl [--strategies real,degraded,broken,disfluent] [--style both]
    cookiebench augment train --style ad|hc|both --mode separate|conditional --out runs/generators
    cookiebench serve --adapters runs/generators                  # base, ad, hc on 127.0.0.1:8000
    cookiebench augment generate --endpoint http://127.0.0.1:8000/v1 --style ad --n 200 --out synth-ad.jsonl
    cookiebench augment generate --adapters runs/generators --style hc --n 200 --out synth-hc.jsonl
    cookiebench augment generate --prompt-only --style ad --n 200 --out po-ad.jsonl
    cookiebench augment filter synth-ad.jsonl --out synth-ad.filtered.jsonl
    cookiebench augment classic --out classic.jsonl --intensity 0.1
    cookiebench augment export synth-ad.filtered.jsonl --format chat|csv|jsonl --out synth-corpus/

Each command parses its options, builds the typed configs and calls one library function;
bad input raises a :class:`detect.errors.UserError`, which the ``cookiebench`` app prints
as one line with exit code 1. An option that sets a config field defaults to "not given" and
names the field (:class:`detect.cli_options.Default`): the config's own default applies, and
``--help`` shows it. Serving and generation are in :mod:`augment.cli_generate`, the quality
report in :mod:`augment.cli_evaluate`, the export in :mod:`augment.cli_export`.
"""

from __future__ import annotations

import json
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from augment.cli_evaluate import evaluate
from augment.cli_export import export
from augment.cli_generate import generate
from augment.prompts import STYLES, StyleChoice
from detect.cli_options import ConfigDefaults, Default, given
from detect.corpus_cli import ReportOpt, SkipBadOpt, VisitsOpt, read_options
from detect.errors import one_line
from detect.logs import STDERR, log_file, spinner
from detect.readers import ReadOptions, log_read_report

models_app = typer.Typer(help="Base models: prepare the local SmolLM2 folder.", no_args_is_help=True)
augment_app = typer.Typer(help="Preference pairs, generator training and generation.", no_args_is_help=True)
console = Console()  # results; logs, progress and status go to detect.logs.STDERR


class ModeChoice(str, Enum):
    separate = "separate"
    conditional = "conditional"


def _strategies(text: str) -> tuple[str, ...]:
    from augment.pair_config import STRATEGIES

    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in chosen if s not in STRATEGIES]
    if bad or not chosen:
        raise typer.BadParameter(f"choose from {', '.join(STRATEGIES)} (comma-separated), got {text!r}")
    return chosen


def _styles_shown(styles: tuple[str, ...]) -> str:
    return StyleChoice.both.value if tuple(styles) == STYLES else ",".join(styles)


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _transcripts(corpus: Path | None, split: str, read: ReadOptions):
    loaded, report = read.load(corpus)
    return (loaded if split == "all" else loaded.by_split(split)), report


CorpusOpt = Annotated[Path | None, typer.Option(help="Corpus folder or file (default: the shipped simulated cohort).")]
SeedOpt = Annotated[
    int | None, typer.Option(help="Seed for sampling and degradation."), Default("augment.pair_config:PairConfig.seed")
]
MinMarginOpt = Annotated[
    float | None,
    typer.Option(help="Drop pairs whose style-axis margin is below this."),
    Default("augment.pair_config:PairConfig.min_margin"),
]
MaxPairsOpt = Annotated[
    int | None,
    typer.Option(help="Pairs kept per (style, strategy), at random."),
    Default("augment.pair_config:PairConfig.max_pairs_per_strategy"),
]
StrategiesOpt = Annotated[
    str | None,
    typer.Option(help="Comma-separated: real, degraded, generated, broken, disfluent."),
    Default("augment.pair_config:PairConfig.strategies", parse=_strategies),
]


# -- models -----------------------------------------------------------------------------------------


@models_app.command()
def prepare(
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Models cache (default $COOKIEBENCH_HOME/models or ~/.cache/cookiebench/models)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if a verified folder exists.")] = False,
) -> None:
    """Convert the shipped SmolLM2-135M-Instruct GGUF into a Hugging Face folder (once) and print its path."""
    from augment.base_model import prepare_base_model

    with spinner() as progress:
        progress.add_task("preparing SmolLM2-135M-Instruct", total=None)
        path = prepare_base_model(cache_dir, force=force)
    typer.echo(str(path))


# -- pairs and training -----------------------------------------------------------------------------


def pairs(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Pairs JSONL to write (a .summary.json goes beside it).")],
    corpus: CorpusOpt = None,
    split: Annotated[
        str,
        typer.Option(help="Which transcripts to use: train, test or all. Never pair test speakers you evaluate on."),
    ] = "train",
    style: Annotated[
        StyleChoice | None,
        typer.Option(help="Target style(s) of the pairs."),
        Default("augment.pair_config:PairConfig.styles", parse=StyleChoice.styles, show=_styles_shown),
    ] = None,
    mode: Annotated[
        ModeChoice | None,
        typer.Option(help="Prompt mode: separate (one adapter per style) or conditional."),
        Default("augment.pair_config:PairConfig.mode"),
    ] = None,
    strategies: StrategiesOpt = None,
    samples: Annotated[
        Path | None,
        typer.Option(help="SFT samples JSONL ({style, text} lines), needed by 'generated', used by 'broken'."),
    ] = None,
    min_margin: MinMarginOpt = None,
    intensity: Annotated[
        float | None,
        typer.Option(help="Degradation intensity, 0 to 1."),
        Default("augment.pair_config:PairConfig.degrade_intensity"),
    ] = None,
    rejected_per_chosen: Annotated[
        int | None,
        typer.Option(help="Real pairing: other-style texts per chosen text."),
        Default("augment.pair_config:PairConfig.rejected_per_chosen"),
    ] = None,
    max_pairs: MaxPairsOpt = None,
    seed: SeedOpt = None,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """Build DPO preference pairs from real transcripts (and degradations, and SFT samples)."""
    from augment.pair_config import PairConfig
    from augment.pair_files import read_samples, write_pairs
    from augment.pairs import build_pairs

    try:
        config = PairConfig(**given(ctx, PairConfig))
    except ValueError as e:
        raise typer.BadParameter(one_line(e)) from None
    transcripts, _ = _transcripts(corpus, split, read_options(skip_bad, report, visits))
    sample_texts = read_samples(samples) if samples else None
    with spinner() as progress:
        progress.add_task(f"building pairs from {len(transcripts)} transcripts", total=None)
        result = build_pairs(transcripts, config, samples=sample_texts)
    write_pairs(out, result.pairs, result.summary)

    table = Table(title=f"{len(result.pairs)} pairs -> {out}")
    for column in (
        "style/strategy",
        "pairs",
        "dropped (margin/filter)",
        "mean margin",
        "Δ IU coverage",
        "Δ words",
        "Δ pronoun ratio",
        "Δ disfluency",
    ):
        table.add_column(column, justify="left" if column == "style/strategy" else "right")
    s = result.summary
    for key in sorted(set(s.by_style_strategy) | set(s.dropped_margin) | set(s.dropped_filter)):
        d = s.mean_deltas.get(key, {})
        table.add_row(
            key,
            str(s.by_style_strategy.get(key, 0)),
            str(s.dropped_margin.get(key, 0) + s.dropped_filter.get(key, 0)),
            f"{s.mean_margin.get(key, 0):.2f}",
            f"{d.get('iu_coverage', 0):+.3f}",
            f"{d.get('words', 0):+.1f}",
            f"{d.get('pronoun_ratio', 0):+.3f}",
            f"{d.get('disfluency_rate', 0):+.3f}",
        )
    console.print(table)
    if s.dropped_duplicates:
        typer.echo(f"{s.dropped_duplicates} exact duplicates removed")


_SFT, _DPO = "augment.stages:CookieSFTConfig", "augment.stages:CookieDPOConfig"


def train(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Output folder: adapters, pairs, samples, marker comparison.")],
    style: Annotated[
        StyleChoice | None,
        typer.Option(help="Which style adapter(s) to train."),
        Default("augment.train:GeneratorConfig.styles", parse=StyleChoice.styles, show=_styles_shown),
    ] = None,
    mode: Annotated[
        ModeChoice | None,
        typer.Option(help="separate: one adapter per style; conditional: one adapter, style in the prompt."),
        Default("augment.train:GeneratorConfig.mode"),
    ] = None,
    corpus: CorpusOpt = None,
    split: Annotated[str, typer.Option(help="Which transcripts to train on: train, test or all.")] = "train",
    base_model: Annotated[
        Path | None,
        typer.Option(help="A local Hugging Face causal-LM folder (default: the prepared SmolLM2)."),
        Default("augment.train:GeneratorConfig.base_model", parse=str),
    ] = None,
    sft_epochs: Annotated[float | None, typer.Option(help="SFT epochs."), Default(f"{_SFT}.num_train_epochs")] = None,
    sft_lr: Annotated[float | None, typer.Option(help="SFT learning rate."), Default(f"{_SFT}.learning_rate")] = None,
    dpo: Annotated[bool, typer.Option("--dpo/--no-dpo", help="Run DPO after SFT.")] = True,
    dpo_epochs: Annotated[float | None, typer.Option(help="DPO epochs."), Default(f"{_DPO}.num_train_epochs")] = None,
    dpo_lr: Annotated[float | None, typer.Option(help="DPO learning rate."), Default(f"{_DPO}.learning_rate")] = None,
    beta: Annotated[
        float | None, typer.Option(help="DPO beta (deviation penalty from the SFT reference)."), Default(f"{_DPO}.beta")
    ] = None,
    loss_type: Annotated[
        str | None,
        typer.Option(help="DPO loss type(s), comma-separated (TRL names: sigmoid, ipo, hinge, ...)."),
        Default(f"{_DPO}.loss_type", parse=_comma_list),
    ] = None,
    precompute_ref: Annotated[
        bool | None,
        typer.Option(
            "--precompute-ref/--no-precompute-ref", help="Precompute reference log-probs once instead of every step."
        ),
        Default(f"{_DPO}.precompute_ref_log_probs"),
    ] = None,
    lora_r: Annotated[
        int | None, typer.Option(help="LoRA rank."), Default("augment.stages:default_lora_config.r")
    ] = None,
    lora_alpha: Annotated[
        int | None, typer.Option(help="LoRA alpha."), Default("augment.stages:default_lora_config.alpha")
    ] = None,
    max_length: Annotated[
        int | None,
        typer.Option(help="Tokens per example (prompt + description)."),
        Default(f"{_SFT}.max_length", f"{_DPO}.max_length"),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help="Examples (SFT) or pairs (DPO) per step."),
        Default(f"{_SFT}.per_device_train_batch_size", f"{_DPO}.per_device_train_batch_size"),
    ] = None,
    strategies: StrategiesOpt = None,
    min_margin: MinMarginOpt = None,
    max_pairs: MaxPairsOpt = None,
    min_transcripts: Annotated[
        int | None,
        typer.Option(help="Fewer transcripts of a style than this is an error."),
        Default(f"{_SFT}.min_transcripts"),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(help="Descriptions sampled per style after each stage."),
        Default("augment.sampling:SampleConfig.n"),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Training, pairing and sampling seed."),
        Default(
            f"{_SFT}.seed", f"{_DPO}.seed", "augment.pair_config:PairConfig.seed", "augment.sampling:SampleConfig.seed"
        ),
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default: the local store under mlflow/).")
    ] = None,
    experiment: Annotated[
        str | None, typer.Option(help="MLflow experiment."), Default("augment.train:GeneratorConfig.experiment")
    ] = None,
    track: Annotated[
        bool | None,
        typer.Option("--track/--no-track", help="Log to MLflow."),
        Default("augment.train:GeneratorConfig.track"),
    ] = None,
    skip_bad: SkipBadOpt = None,
    read_report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """SFT then DPO of AD-style and/or HC-style LoRA adapters; resumes an interrupted run in the same --out."""
    from augment.pair_config import PairConfig
    from augment.sampling import SampleConfig
    from augment.stages import CookieDPOConfig, CookieSFTConfig, default_lora_config
    from augment.train import GeneratorConfig, train_generators

    try:
        config = GeneratorConfig(
            **given(ctx, GeneratorConfig),
            tracking_uri=tracking_uri,
            sft=CookieSFTConfig(**given(ctx, CookieSFTConfig)),
            dpo=CookieDPOConfig(**given(ctx, CookieDPOConfig)) if dpo else None,
            lora=default_lora_config(**given(ctx, default_lora_config)),
            pairs=PairConfig(**given(ctx, PairConfig)),
            sampling=SampleConfig(**given(ctx, SampleConfig)),
        )
    except ValueError as e:
        raise typer.BadParameter(one_line(e)) from None
    transcripts, read = _transcripts(corpus, split, read_options(skip_bad, read_report, visits))
    log_path = out / "logs" / f"train-{time.strftime('%Y%m%d-%H%M%S')}.log"
    STDERR.print(f"log (transformers, TRL, training steps): {log_path}")
    with log_file(log_path), spinner() as progress:
        task = progress.add_task("starting", total=None)
        report = train_generators(
            transcripts, out, config, on_stage=lambda label: progress.update(task, description=label)
        )
    if report.run_id:
        log_read_report(read, report.run_id)

    table = Table(title=f"Markers: samples vs real ({report.comparison_path})")
    table.add_column("group")
    for column in report.comparison.columns:
        table.add_column(column, justify="right")
    for group, row in report.comparison.iterrows():
        table.add_row(group, *(f"{v:.3g}" for v in row))
    console.print(table)
    summary = {
        name: {"sft": str(u.sft.adapter), "dpo": str(u.dpo.adapter) if u.dpo else None}
        for name, u in report.units.items()
    }
    typer.echo(json.dumps(summary, indent=2))


# -- filter and classic -----------------------------------------------------------------------------


PrivacyOpt = Annotated[
    int | None,
    typer.Option(help="Shared word run with a real transcript that fails privacy."),
    Default("augment.filters:FilterConfig.privacy_ngram"),
]
CoverageOpt = Annotated[
    float | None,
    typer.Option(help="Least information-unit coverage to count as on topic."),
    Default("augment.filters:FilterConfig.min_iu_coverage"),
]
OutJsonlOpt = Annotated[Path, typer.Option(help="JSONL to write ('-': stdout, nothing else on it).")]


def _write_jsonl(out: Path, records: list) -> Console:
    """Writes ``records`` to ``out`` or, for ``-``, to stdout; returns the console for the rest of the output."""
    from augment.synthetic import write_records

    if str(out) != "-":
        write_records(out, records)
        return console
    for record in records:
        typer.echo(record.model_dump_json())
    return STDERR


def filter_records(
    ctx: typer.Context,
    records: Annotated[Path, typer.Argument(help="Synthetic JSONL from `augment generate` or `augment classic`.")],
    out: Annotated[
        Path,
        typer.Option(
            help="Filtered JSONL, every record with its verdicts and markers ('-': stdout, nothing else on it)."
        ),
    ],
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="Real corpus the generator was trained from; its training split feeds the privacy and style checks"
            " (default: the simulated cohort)."
        ),
    ] = None,
    privacy_ngram: PrivacyOpt = None,
    min_iu_coverage: CoverageOpt = None,
    require_style: Annotated[
        bool, typer.Option(help="Also require the style check when counting what passes.")
    ] = False,
    best_of: Annotated[
        int | None,
        typer.Option(
            help="Keep one record of each N consecutive ones of a file: the one that passes and lies closest to"
            " its style's real class mean (generate N times the records you want).",
            min=1,
        ),
        Default("augment.filters:apply_filters.best_of"),
    ] = None,
    only_passing: Annotated[
        bool, typer.Option(help="Write only the records that pass (default: all, with verdicts).")
    ] = False,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """Record every filter's verdict on each record; print a pass/fail table."""
    from augment.filters import FilterConfig, apply_filters, select, summary
    from augment.synthetic import read_records

    items = read_records(records)
    config = FilterConfig(**given(ctx, FilterConfig))
    if require_style:
        config = FilterConfig(**{**given(ctx, FilterConfig), "require": (*config.require, "style")})
    training = [t for t in read_options(skip_bad, report, visits).load(corpus)[0] if t.split in ("train", None)]
    checked = apply_filters(items, config=config, training=training, **given(ctx, apply_filters))
    passing = select(checked, config.require)
    shown = _write_jsonl(out, passing if only_passing else checked)
    table = Table(title=f"{records.name}: {len(passing)}/{len(checked)} pass {', '.join(config.require)}")
    table.add_column("verdict")
    table.add_column("passed", justify="right")
    table.add_column("failed", justify="right")
    for name, counts in summary(checked).items():
        table.add_row(name, str(counts["passed"]), str(counts["failed"]))
    shown.print(table)


def classic(
    ctx: typer.Context,
    out: OutJsonlOpt,
    corpus: Annotated[
        Path | None, typer.Option(help="Corpus whose training split is augmented (default: the simulated cohort).")
    ] = None,
    ops: Annotated[
        str | None,
        typer.Option(help="Comma-separated: noise,deletion,swap,disfluency,shuffle."),
        Default("augment.classic:ClassicConfig.ops", parse=lambda text: tuple(_comma_list(text))),
    ] = None,
    intensity: Annotated[
        float | None,
        typer.Option(help="Share of words (sentences for shuffle) each op touches."),
        Default("augment.classic:ClassicConfig.intensity"),
    ] = None,
    per_transcript: Annotated[
        int | None,
        typer.Option(help="Augmented copies per real transcript."),
        Default("augment.classic:classic_augment.per_transcript"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed."), Default("augment.classic:ClassicConfig.seed")
    ] = None,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """EDA-style augmentation of real training transcripts."""
    from augment.classic import ClassicConfig, classic_augment

    training = [t for t in read_options(skip_bad, report, visits).load(corpus)[0] if t.split in ("train", None)]
    try:
        config = ClassicConfig(**given(ctx, ClassicConfig))
    except ValueError as exc:
        raise typer.BadParameter(one_line(exc)) from None
    records = classic_augment(training, config, **given(ctx, classic_augment))
    _write_jsonl(out, records)
    STDERR.print(f"{len(records)} augmented copies of {len(training)} training transcripts in {out}")


# -- the group, in the order --help lists it ---------------------------------------------------------

augment_app.command(cls=ConfigDefaults)(pairs)
augment_app.command(cls=ConfigDefaults)(train)
augment_app.command(cls=ConfigDefaults)(generate)
augment_app.command("filter", cls=ConfigDefaults)(filter_records)
augment_app.command(cls=ConfigDefaults)(classic)
augment_app.command(cls=ConfigDefaults)(evaluate)
augment_app.command(cls=ConfigDefaults)(export)
