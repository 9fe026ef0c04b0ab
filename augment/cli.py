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

Each command parses its options, builds the typed configs and calls one library function;
bad input raises a :class:`detect.errors.UserError`, which the ``cookiebench`` app prints
as one line with exit code 1.
"""

from __future__ import annotations

import json
import shlex
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from detect.corpus_cli import ReportOpt, SkipBadOpt, VisitsOpt, read_options
from detect.readers import ReadOptions, Visits, log_read_report
from augment.prompts import MODES, StyleChoice, adapter_unit, unit_mode
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
    strategies: Annotated[str, typer.Option(help="Comma-separated: real, degraded, generated, broken, disfluent (AD only).")] = "real,degraded,broken",
    samples: Annotated[Path | None, typer.Option(help="SFT samples JSONL ({style, text} lines), needed by 'generated', used by 'broken'.")] = None,
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
    for column in ("style/strategy", "pairs", "dropped (margin/filter)", "mean margin", "Δ IU coverage", "Δ words",
                   "Δ pronoun ratio", "Δ disfluency"):
        table.add_column(column, justify="left" if column == "style/strategy" else "right")
    s = result.summary
    for key in sorted(set(s.by_style_strategy) | set(s.dropped_margin) | set(s.dropped_filter)):
        d = s.mean_deltas.get(key, {})
        table.add_row(key, str(s.by_style_strategy.get(key, 0)), str(s.dropped_margin.get(key, 0) + s.dropped_filter.get(key, 0)),
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
    strategies: Annotated[str, typer.Option(help="Pair strategies, comma-separated: real, degraded, generated, broken.")] = "real,degraded,generated,broken",
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


# -- serve and generate -----------------------------------------------------------------------------


class OneStyle(str, Enum):
    ad = "ad"
    hc = "hc"


AdaptersOpt = Annotated[Path | None, typer.Option(help="Adapters: `cookiebench augment train` output, or a folder of ad/ and hc/ LoRA adapters.")]
StageOpt = Annotated[str, typer.Option(help="Which training stage's adapters: dpo or sft.")]
BaseOpt = Annotated[str | None, typer.Option("--base-model", help="Base model folder (default: the prepared SmolLM2).")]
PortOpt = Annotated[int, typer.Option(help="Port (0: a free one).")]
KeyOpt = Annotated[str | None, typer.Option("--api-key", envvar="COOKIEBENCH_API_KEY", help="Bearer key the server requires / the client sends.")]
EagerOpt = Annotated[bool, typer.Option("--eager/--compiled", help="Eager: starts in seconds; compiled: faster generation, slow first start.")]
TimeoutOpt = Annotated[float, typer.Option("--startup-timeout", help="Seconds to wait for vLLM to become ready.")]
ThreadsOpt = Annotated[int | None, typer.Option(help="CPU build: OpenMP threads for vLLM (default: all cores; use 1 on a busy shared machine).")]
BindOpt = Annotated[str, typer.Option(help="CPU build: VLLM_CPU_OMP_THREADS_BIND (nobind, auto, or core ids); unpinned ran 1.3x faster on 2 cores.")]


def serve(
    adapters: AdaptersOpt = None,
    only: Annotated[str | None, typer.Option(help="Serve only this adapter (e.g. ad).")] = None,
    merged: Annotated[bool, typer.Option(help="Fold the adapter into full weights (faster on CPU); one adapter per server.")] = False,
    stage: StageOpt = "dpo",
    base_model: BaseOpt = None,
    host: Annotated[str, typer.Option(help="Bind address. Loopback by default; anything else exposes the server.")] = "127.0.0.1",
    port: PortOpt = 8000,
    api_key: KeyOpt = None,
    eager: EagerOpt = False,
    max_model_len: Annotated[int, typer.Option(help="Longest prompt + completion, in tokens.")] = 2048,
    startup_timeout: TimeoutOpt = 600.0,
    log: Annotated[Path | None, typer.Option(help="Server log file (default: a temp file).")] = None,
    threads: ThreadsOpt = None,
    cpu_bind: BindOpt = "nobind",
) -> None:
    """Start a vLLM OpenAI-compatible server with the base model and the style adapters; Ctrl-C stops it."""
    from augment.serve import ServeConfig, VLLMServer, find_adapters

    found = find_adapters(adapters, stage=stage) if adapters else {}
    if only is not None:
        if only not in found:
            raise typer.BadParameter(f"no adapter named {only!r}; found {sorted(found)}", param_hint="--only")
        found = {only: found[only]}
    elif merged and len(found) > 1:
        raise typer.BadParameter(f"--merged serves one adapter; choose it with --only ({' or '.join(sorted(found))})")
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning: binding to {host}: the server is reachable from other machines"
                      f"{'' if api_key else ' and has no --api-key'}[/yellow]")
    server = VLLMServer(ServeConfig(base_model=base_model, adapters=found, merged=merged, host=host, port=port,
                                    api_key=api_key, enforce_eager=eager, startup_timeout_s=startup_timeout,
                                    max_model_len=max_model_len, log_path=log, omp_threads=threads, cpu_bind=cpu_bind))
    with console.status("starting vLLM (the first compiled start takes minutes)..."):
        server.start()
    try:
        table = Table(title="vLLM server")
        table.add_column("endpoint")
        table.add_column("models")
        table.add_column("log")
        table.add_row(server.url, ", ".join(server.model_names), str(server.log_path))
        Console().print(table)
        console.print("Ctrl-C stops the server.")
        while server.alive():
            time.sleep(1.0)
        console.print(f"[red]the server exited; log tail:[/red]\n{server.log_tail()}")
        raise typer.Exit(code=1)
    except KeyboardInterrupt:
        console.print("stopping...")
    finally:
        server.stop()


def _resume_command(ctx: typer.Context) -> str:
    """This command as given on the command line, to print for a resume (options set by environment left out)."""
    words = ctx.command_path.split()
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name != "COMMANDLINE":  # Typer vendors Click: compare by name
            continue
        value = ctx.params[param.name]
        if getattr(param, "is_flag", False):
            words.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            words += [*param.opts[:1], str(value.value if isinstance(value, Enum) else value)]
    return shlex.join(words)


def _generation_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
    )


@augment_app.command()
def generate(
    ctx: typer.Context,
    style: Annotated[OneStyle, typer.Option(help="Which style to generate.")],
    n: Annotated[int, typer.Option(help="Records the output file must hold when done.", min=1)],
    out: Annotated[Path, typer.Option(help="JSONL file; appended to, so a rerun resumes.")],
    endpoint: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1.")] = None,
    adapters: AdaptersOpt = None,
    prompt_only: Annotated[bool, typer.Option("--prompt-only", help="Few-shot prompting of the bare base model (the baseline).")] = False,
    model: Annotated[str | None, typer.Option(help="Model name: an adapter under --adapters, or a model the --endpoint serves (default: the style, 'cond', or 'base' for --prompt-only).")] = None,
    corpus: Annotated[Path | None, typer.Option(help="For --prompt-only: corpus whose training split gives the examples (default: the simulated cohort).")] = None,
    shots: Annotated[int, typer.Option(help="For --prompt-only: real examples per prompt.")] = 3,
    stage: StageOpt = "dpo",
    merged: Annotated[bool | None, typer.Option(
        "--merged/--no-merged",
        help="With --adapters: the adapter merged into full weights, or base + LoRA. Default: merged on the CPU build "
             "(vLLM's CPU LoRA path ran at 0.2x the merged rate in `make bench`), LoRA otherwise.")] = None,
    in_process: Annotated[bool | None, typer.Option(
        "--in-process/--server",
        help="With --adapters or --prompt-only: vllm.LLM without a server (in a worker process), or a vLLM server started and "
             "stopped here. Default: in-process on the CPU build (1.5x the merged server's rate on 2 cores in `make bench`: no "
             "API-server process competes for the cores), a server otherwise.")] = None,
    base_model: BaseOpt = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.9,
    min_p: Annotated[float, typer.Option(help="Min-p truncation: keep tokens at least this share of the top one's probability (0: off).")] = 0.05,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass (1: off; slow on the CPU build).")] = 1.0,
    max_tokens: Annotated[int, typer.Option(help="Most tokens per description.")] = 160,
    min_tokens: Annotated[int, typer.Option(help="Fewest tokens per description: the end-of-text token waits (0: off).")] = 0,
    frequency_penalty: Annotated[float, typer.Option(help="Penalise a token by how often it was generated already "
                                                          "(fewer loops; 0: off).")] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of record 0; record i uses seed + i.")] = 0,
    concurrency: Annotated[int, typer.Option(help="Requests in flight on a server; prompts per engine call in-process (Ctrl-C loses at most that many).")] = 16,
    retries: Annotated[int, typer.Option(help="Tries per request (HTTP faults: the openai client's retries; malformed completions) before it counts as failed.")] = 4,
    request_timeout: Annotated[float, typer.Option(help="Per-request timeout in seconds.")] = 300.0,
    api_key: KeyOpt = None,
    eager: EagerOpt = True,
    port: PortOpt = 0,
    startup_timeout: TimeoutOpt = 600.0,
    threads: ThreadsOpt = None,
    cpu_bind: BindOpt = "nobind",
    skip_bad: SkipBadOpt = False,
    read_report: ReportOpt = None,
    visits: VisitsOpt = Visits.all,
) -> None:
    """Generate N synthetic descriptions of one style into a resumable JSONL file."""
    from augment import runner
    from augment.generate import RetryPolicy, SamplingConfig
    from augment.serve import BASE_NAME, adapter_meta, find_adapters

    if endpoint is None and adapters is None and not prompt_only:
        raise typer.BadParameter("give --endpoint URL, --adapters DIR, or --prompt-only")
    if in_process is not None and endpoint is not None:
        raise typer.BadParameter("--in-process/--server start vLLM here; they do not take --endpoint")
    style_name = OneStyle(style).value
    try:
        sampling = SamplingConfig(temperature=temperature, min_p=min_p, top_p=top_p, max_tokens=max_tokens,
                                  min_tokens=min_tokens, frequency_penalty=frequency_penalty, seed=seed)
        retry = RetryPolicy(attempts=retries, timeout_s=request_timeout)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    backend = runner.Backend(
        endpoint=endpoint, api_key=api_key, where="auto" if in_process is None else "in-process" if in_process else "server",
        weights="auto" if merged is None else "merged" if merged else "lora", enforce_eager=eager, port=port,
        threads=threads, cpu_bind=cpu_bind, startup_timeout_s=startup_timeout, concurrency=concurrency, retry=retry)

    if prompt_only:
        from augment.prompt_only import FewShotPrompter, PromptOnlyConfig

        if model is not None and endpoint is None:
            raise typer.BadParameter(f"the local base model is {BASE_NAME!r}; --model names a model on --endpoint")
        corpus_read, _ = read_options(skip_bad, read_report, visits).load(corpus)
        training = [t for t in corpus_read if t.split in ("train", None)]
        prompter = FewShotPrompter(training, style_name, PromptOnlyConfig(shots=shots, seed=seed))
        job = runner.prompt_only_job(out, n, style_name, prompter, base_model=base_model, name=model or BASE_NAME)
    else:
        found = find_adapters(adapters, stage=stage) if adapters else {}
        own = [adapter_unit(style_name, m) for m in MODES]  # the style's adapter, else the conditional one
        name = model or next((unit for unit in own if unit in found), next(iter(found), style_name))
        if found and name not in found:
            raise typer.BadParameter(f"no adapter named {name!r} in {adapters}; found {sorted(found)}", param_hint="--model")
        adapter = found.get(name)
        mode = (adapter_meta(adapter).get("mode") if adapter else None) or unit_mode(name)
        job = runner.adapter_job(out, n, style_name, name, adapter, mode=mode, base_model=base_model)

    resume = _resume_command(ctx)
    _, have = runner.pending(job, backend, sampling)
    with _generation_progress() as progress:
        task = progress.add_task(f"{style_name.upper()} {job.generator.name}", total=n, completed=have, rate="")
        clock = {"first": 0.0, "records": 0, "tokens": 0}

        def on_record(record) -> None:
            now = time.monotonic()
            clock["first"] = clock["first"] or now  # the rate counts generation, not vLLM's start-up
            clock["records"] += 1
            clock["tokens"] += record.completion_tokens or 0
            elapsed = now - clock["first"]
            rate = f"{60 * (clock['records'] - 1) / elapsed:.1f} desc/min {clock['tokens'] / elapsed:.0f} tok/s" if elapsed else ""
            progress.update(task, advance=1, rate=rate)

        try:
            (report,) = runner.run_jobs([job], backend, sampling, on_record=on_record, resume_command=resume)
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted; {out} is valid. Resume with:[/yellow] {resume}")
            raise typer.Exit(code=130) from None
    console.print(f"{report.total}/{n} records in {out} ({report.written} new, {report.already_there} already there)")


# -- filter and classic -----------------------------------------------------------------------------


@augment_app.command("filter")
def filter_records(
    records: Annotated[Path, typer.Argument(help="Synthetic JSONL from `augment generate` or `augment classic`.")],
    out: Annotated[Path, typer.Option(help="Filtered JSONL: every record with its verdicts and markers.")],
    corpus: Annotated[Path | None, typer.Option(help="Real corpus the generator was trained from; its training split feeds the privacy and style checks (default: the simulated cohort).")] = None,
    privacy_ngram: Annotated[int, typer.Option(help="Shared word run with a real transcript that fails privacy.")] = 8,
    min_iu_coverage: Annotated[float, typer.Option(help="Least information-unit coverage to count as on topic.")] = 0.1,
    require_style: Annotated[bool, typer.Option(help="Also require the style check when counting what passes.")] = False,
    best_of: Annotated[int, typer.Option(help="Keep one record of each N consecutive ones of a file: the one that passes and lies closest to its style's real class mean (generate N times the records you want).", min=1)] = 1,
    only_passing: Annotated[bool, typer.Option(help="Write only the records that pass (default: all, with verdicts).")] = False,
    skip_bad: SkipBadOpt = False,
    report: ReportOpt = None,
    visits: VisitsOpt = Visits.all,
) -> None:
    """Record every filter's verdict on each record; print a pass/fail table."""
    from augment.filters import FilterConfig, apply_filters, select, summary
    from augment.synthetic import read_records, write_records

    items = read_records(records)
    base = FilterConfig(privacy_ngram=privacy_ngram, min_iu_coverage=min_iu_coverage)
    require = (*base.require, "style") if require_style else base.require
    config = FilterConfig(privacy_ngram=privacy_ngram, min_iu_coverage=min_iu_coverage, require=require)
    training = [t for t in read_options(skip_bad, report, visits).load(corpus)[0] if t.split in ("train", None)]
    checked = apply_filters(items, config=config, training=training, best_of=best_of)
    passing = select(checked, require)
    write_records(out, passing if only_passing else checked)
    table = Table(title=f"{records.name}: {len(passing)}/{len(checked)} pass {', '.join(require)}")
    table.add_column("verdict")
    table.add_column("passed", justify="right")
    table.add_column("failed", justify="right")
    for name, counts in summary(checked).items():
        table.add_row(name, str(counts["passed"]), str(counts["failed"]))
    Console().print(table)


@augment_app.command()
def classic(
    out: Annotated[Path, typer.Option(help="JSONL of augmented copies (same record format as generated text).")],
    corpus: Annotated[Path | None, typer.Option(help="Corpus whose training split is augmented (default: the simulated cohort).")] = None,
    ops: Annotated[str, typer.Option(help="Comma-separated: noise,deletion,swap,disfluency,shuffle.")] = "noise,deletion,swap,disfluency,shuffle",
    intensity: Annotated[float, typer.Option(help="Share of words (sentences for shuffle) each op touches.")] = 0.1,
    per_transcript: Annotated[int, typer.Option(help="Augmented copies per real transcript.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    skip_bad: SkipBadOpt = False,
    report: ReportOpt = None,
    visits: VisitsOpt = Visits.all,
) -> None:
    """EDA-style augmentation of real training transcripts."""
    from augment.classic import ClassicConfig, classic_augment
    from augment.synthetic import write_records

    training = [t for t in read_options(skip_bad, report, visits).load(corpus)[0] if t.split in ("train", None)]
    try:
        config = ClassicConfig(ops=tuple(o.strip() for o in ops.split(",") if o.strip()), intensity=intensity, seed=seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    records = classic_augment(training, config, per_transcript=per_transcript)
    write_records(out, records)
    console.print(f"{len(records)} augmented copies of {len(training)} training transcripts in {out}")


# -- evaluate ---------------------------------------------------------------------------------------


@augment_app.command()
def evaluate(
    synthetic: Annotated[list[Path], typer.Argument(help="Synthetic JSONL file(s), filtered or not (e.g. synth-ad.jsonl synth-hc.jsonl).")],
    corpus: Annotated[Path | None, typer.Option(help="Real corpus to compare with; its training split is the reference and its test split (else speaker-grouped folds) the TSTR test set (default: the simulated cohort).")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the report: .json (the whole report) or .md (tables).")] = None,
    folds: Annotated[int, typer.Option(help="Speaker-grouped folds for TSTR/TRTR when the corpus has no test split.", min=2)] = 5,
    privacy_ngram: Annotated[int, typer.Option(help="For records without verdicts: shared word run with a real transcript that fails privacy.")] = 8,
    min_iu_coverage: Annotated[float, typer.Option(help="For records without verdicts: least information-unit coverage to count as on topic.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the detectors and of the real samples behind the diversity ranges.")] = 0,
    mlflow: Annotated[bool, typer.Option("--mlflow", help="Also log the report to MLflow (experiment cookiebench-quality).")] = False,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI (default: the local store under mlflow/).")] = None,
    skip_bad: SkipBadOpt = False,
    report: ReportOpt = None,
    visits: VisitsOpt = Visits.all,
) -> None:
    """Generation quality per generator and style: filters, markers vs real, style accuracy, TSTR vs TRTR, diversity."""
    from augment.filters import FilterConfig
    from augment.quality import GeneratorData, by_generator, evaluation_splits, quality_report, real_reference

    if out is not None and out.suffix not in (".json", ".md"):
        raise typer.BadParameter(f"{out}: write a .json or a .md report", param_hint="--out")
    records = [r for path in synthetic for r in _records_of(path)]
    loaded, read = read_options(skip_bad, report, visits).load(corpus)
    reference = real_reference(loaded)
    with _stage_progress() as progress:
        progress.add_task(f"measuring {len(records)} synthetic records against {len(reference)} real transcripts",
                          total=None)
        splits, test = evaluation_splits(loaded, folds=folds, seed=seed)
        result = quality_report([GeneratorData(name, recs) for name, recs in by_generator(records).items()],
                                reference, test_splits=splits, test=test, seed=seed,
                                filters=FilterConfig(privacy_ngram=privacy_ngram, min_iu_coverage=min_iu_coverage))
    for view in _quality_tables(result):
        Console().print(view)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.model_dump_json(indent=2) + "\n" if out.suffix == ".json" else result.markdown(),
                       encoding="utf-8")
        console.print(f"report written to {out}")
    if mlflow:
        from detect import tracking

        with tracking.experiment_run("cookiebench-quality", "augment-evaluate", uri=tracking_uri,
                                     params={"synthetic": [str(p) for p in synthetic], "seed": seed,
                                             **tracking.provenance_params(loaded)},
                                     tags={"stage": "augment-evaluate"}) as run:
            log_read_report(read, run.info.run_id)
            tracking.log_metrics(result.metrics())
            tracking.log_frame(result.frame(), "quality.json")
            import mlflow as mlflow_lib

            mlflow_lib.log_text(result.model_dump_json(indent=2), "quality_report.json")
        console.print(f"MLflow run {run.info.run_id}: {tracking.run_url(run.info.run_id)}")


def _records_of(path: Path) -> list:
    from augment.synthetic import read_records
    from detect.errors import CorpusError

    if not path.is_file():
        raise CorpusError(path, "no such synthetic JSONL file", fix="give the file `augment generate` wrote")
    records = read_records(path)
    if not records:
        raise CorpusError(path, "holds no synthetic records", fix="give the file `augment generate` wrote")
    return records


def _quality_tables(result) -> list[Table]:
    """The console view of a :class:`augment.quality.QualityReport`: filters and diversity, markers, utility."""

    def num(value: float, fmt: str = ".2f") -> str:
        return "n/a" if value != value else format(value, fmt)  # NaN: nothing to measure

    def table(title: str, columns: list[str]) -> Table:
        t = Table(title=title)
        for i, column in enumerate(columns):
            t.add_column(column, justify="left" if i < 2 else "right")
        return t

    filters = table("filters, style, diversity (real range at the same size)",
                    ["generator", "style", "pass", "privacy", "style acc", "distinct-2", "self-sim"])
    markers = table("markers: (synthetic - real) / real SD, per class",
                    ["generator", "style", "IU cov", "words", "pronouns", "disfluency", "retracing"])
    utility = table(f"TSTR vs TRTR F1 on {result.test}", ["generator", "detector", "TSTR", "TRTR", "ratio"])
    for g in result.generators:
        for s in g.styles:
            d = {m.marker: m.distance for m in s.markers}
            filters.add_row(g.generator, s.style.upper(), f"{s.passed}/{s.records}", str(s.privacy_rejected),
                            num(s.style_accuracy),
                            f"{num(s.distinct_2)} ({num(s.distinct_2_real[0])}-{num(s.distinct_2_real[1])})",
                            f"{num(s.self_similarity)} ({num(s.self_similarity_real[0])}-{num(s.self_similarity_real[1])})")
            markers.add_row(g.generator, s.style.upper(), *(num(d[m], "+.2f") for m in (
                "iu_coverage", "words", "pronoun_ratio", "disfluency_rate", "retracing_rate")))
        for u in g.utility:
            utility.add_row(g.generator, u.detector, num(u.tstr_f1), num(u.trtr_f1), num(u.ratio))
    return [filters, markers, utility]
