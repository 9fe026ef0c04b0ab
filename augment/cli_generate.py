"""``cookiebench serve`` and ``cookiebench augment generate``: vLLM started here, or an endpoint.

Options that set a config field default to "not given" and name it (:class:`detect.cli_options.Default`):
sampling is :class:`augment.generation_config.SamplingConfig`'s, where generation runs
:class:`augment.runner.Backend`'s, retries :class:`augment.generation_config.RetryPolicy`'s and the
server :class:`augment.serve.ServeConfig`'s.
"""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from augment.prompts import Style
from detect.cli_options import Default, given, resume_command
from detect.corpus_cli import ReportOpt, SkipBadOpt, VisitsOpt, read_options
from detect.errors import one_line
from detect.logs import STDERR, Progress


class OneStyle(str, Enum):
    ad = "ad"
    hc = "hc"


_SAMPLING, _BACKEND, _SERVE = (
    "augment.generation_config:SamplingConfig",
    "augment.runner:Backend",
    "augment.serve:ServeConfig",
)

AdaptersOpt = Annotated[
    Path | None,
    typer.Option(help="Adapters: `cookiebench augment train` output, or a folder of ad/ and hc/ LoRA adapters."),
]
StageOpt = Annotated[
    str | None,
    typer.Option(help="Which training stage's adapters: dpo or sft."),
    Default("augment.adapters:find_adapters.stage"),
]
BaseOpt = Annotated[str | None, typer.Option("--base-model", help="Base model folder (default: the prepared SmolLM2).")]
KeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", envvar="COOKIEBENCH_API_KEY", help="Bearer key the server requires / the client sends."),
]
EagerHelp = "Eager: starts in seconds; compiled: faster generation, slow first start."
ThreadsHelp = "CPU build: OpenMP threads for vLLM (default: all cores; use 1 on a busy shared machine)."
BindHelp = "CPU build: VLLM_CPU_OMP_THREADS_BIND (nobind, auto, or core ids); unpinned was faster on 2 cores."
TimeoutHelp = "Seconds to wait for vLLM to become ready."


def serve(
    ctx: typer.Context,
    adapters: AdaptersOpt = None,
    only: Annotated[str | None, typer.Option(help="Serve only this adapter (e.g. ad).")] = None,
    merged: Annotated[
        bool | None,
        typer.Option(
            "--merged/--no-merged", help="Fold the adapter into full weights (faster on CPU); one adapter per server."
        ),
        Default(f"{_SERVE}.merged"),
    ] = None,
    stage: StageOpt = None,
    base_model: BaseOpt = None,
    host: Annotated[
        str | None,
        typer.Option(help="Bind address. Loopback by default; anything else exposes the server."),
        Default(f"{_SERVE}.host"),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (0: a free one)."), Default(f"{_SERVE}.port")] = None,
    api_key: KeyOpt = None,
    eager: Annotated[
        bool | None, typer.Option("--eager/--compiled", help=EagerHelp), Default(f"{_SERVE}.enforce_eager")
    ] = None,
    max_model_len: Annotated[
        int | None, typer.Option(help="Longest prompt + completion, in tokens."), Default(f"{_SERVE}.max_model_len")
    ] = None,
    startup_timeout: Annotated[
        float | None, typer.Option(help=TimeoutHelp), Default(f"{_SERVE}.startup_timeout_s")
    ] = None,
    log: Annotated[
        Path | None, typer.Option(help="Server log file (default: a temp file)."), Default(f"{_SERVE}.log_path")
    ] = None,
    threads: Annotated[int | None, typer.Option(help=ThreadsHelp), Default(f"{_SERVE}.omp_threads")] = None,
    cpu_bind: Annotated[str | None, typer.Option(help=BindHelp), Default(f"{_SERVE}.cpu_bind")] = None,
) -> None:
    """Start a vLLM OpenAI-compatible server with the base model and the style adapters; Ctrl-C stops it."""
    from augment.adapters import find_adapters
    from augment.serve import ServeConfig, VLLMServer

    options = given(ctx, ServeConfig)
    found = find_adapters(adapters, **given(ctx, find_adapters)) if adapters else {}
    if only is not None:
        if only not in found:
            raise typer.BadParameter(f"no adapter named {only!r}; found {sorted(found)}", param_hint="--only")
        found = {only: found[only]}
    elif options.get("merged") and len(found) > 1:
        raise typer.BadParameter(f"--merged serves one adapter; choose it with --only ({' or '.join(sorted(found))})")
    config = ServeConfig(base_model=base_model, adapters=found, api_key=api_key, **options)
    if config.host not in ("127.0.0.1", "localhost", "::1"):
        STDERR.print(
            f"[yellow]warning: binding to {config.host}: the server is reachable from other machines"
            f"{'' if api_key else ' and has no --api-key'}[/yellow]"
        )
    server = VLLMServer(config)
    with STDERR.status("starting vLLM (the first compiled start takes minutes)..."):
        server.start()
    try:
        table = Table(title="vLLM server")
        table.add_column("endpoint")
        table.add_column("models")
        table.add_column("log")
        table.add_row(server.url, ", ".join(server.model_names), str(server.log_path))
        Console().print(table)
        STDERR.print("Ctrl-C stops the server.")
        while server.alive():
            time.sleep(1.0)
        STDERR.print(f"[red]the server exited; log tail:[/red]\n{server.log_tail()}")
        raise typer.Exit(code=1)
    except KeyboardInterrupt:
        STDERR.print("stopping...")
    finally:
        server.stop()


def generate(
    ctx: typer.Context,
    style: Annotated[OneStyle, typer.Option(help="Which style to generate.")],
    n: Annotated[int, typer.Option(help="Records the output file must hold when done.", min=1)],
    out: Annotated[Path, typer.Option(help="JSONL file; appended to, so a rerun resumes.")],
    endpoint: Annotated[
        str | None, typer.Option(help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1.")
    ] = None,
    adapters: AdaptersOpt = None,
    prompt_only: Annotated[
        bool, typer.Option("--prompt-only", help="Few-shot prompting of the bare base model (the baseline).")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model name: an adapter under --adapters, or a model the --endpoint serves"
            " (default: the style, 'cond', or 'base' for --prompt-only)."
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="For --prompt-only: corpus whose training split gives the examples (default: the simulated cohort)."
        ),
    ] = None,
    shots: Annotated[
        int | None,
        typer.Option(help="For --prompt-only: real examples per prompt."),
        Default("augment.prompt_only:PromptOnlyConfig.shots"),
    ] = None,
    stage: StageOpt = None,
    merged: Annotated[
        bool | None,
        typer.Option(
            "--merged/--no-merged",
            help="With --adapters: the adapter merged into full weights, or base + LoRA. Default: merged on the CPU "
            "build (vLLM's CPU LoRA path is slow: bench-results/README.md), LoRA otherwise.",
        ),
    ] = None,
    in_process: Annotated[
        bool | None,
        typer.Option(
            "--in-process/--server",
            help="With --adapters or --prompt-only: vllm.LLM without a server (in a worker process), or a vLLM server "
            "started and stopped here. Default: in-process on the CPU build (faster than a server there: no "
            "API-server process competes for the cores), a server otherwise.",
        ),
    ] = None,
    base_model: BaseOpt = None,
    temperature: Annotated[
        float | None, typer.Option(help="Sampling temperature."), Default(f"{_SAMPLING}.temperature")
    ] = None,
    min_p: Annotated[
        float | None,
        typer.Option(help="Min-p truncation: keep tokens at least this share of the top one's probability (0: off)."),
        Default(f"{_SAMPLING}.min_p"),
    ] = None,
    top_p: Annotated[
        float | None,
        typer.Option(help="Nucleus sampling mass (1: off; slow on the CPU build)."),
        Default(f"{_SAMPLING}.top_p"),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help="Most tokens per description."), Default(f"{_SAMPLING}.max_tokens")
    ] = None,
    min_tokens: Annotated[
        int | None,
        typer.Option(help="Fewest tokens per description: the end-of-text token waits (0: off)."),
        Default(f"{_SAMPLING}.min_tokens"),
    ] = None,
    frequency_penalty: Annotated[
        float | None,
        typer.Option(help="Penalise a token by how often it was generated already (fewer loops; 0: off)."),
        Default(f"{_SAMPLING}.frequency_penalty"),
    ] = None,
    length_spread: Annotated[
        float | None,
        typer.Option(
            help="Scale each record's min/max tokens toward a length drawn from the style's real training "
            "transcripts (the adapter's card, or --corpus for --prompt-only): 0 none, 1 the whole real spread."
        ),
        Default(f"{_SAMPLING}.length_spread"),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of record 0; record i uses seed + i (and, for --prompt-only, draws its examples)."),
        Default(f"{_SAMPLING}.seed", "augment.prompt_only:PromptOnlyConfig.seed"),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            help="Requests in flight on a server; prompts per engine call in-process (Ctrl-C loses at most that many)."
        ),
        Default(f"{_BACKEND}.concurrency"),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            help="Tries per request (HTTP faults: the openai client's retries; malformed completions)"
            " before it counts as failed."
        ),
        Default("augment.generation_config:RetryPolicy.attempts"),
    ] = None,
    request_timeout: Annotated[
        float | None,
        typer.Option(help="Per-request timeout in seconds."),
        Default("augment.generation_config:RetryPolicy.timeout_s"),
    ] = None,
    api_key: KeyOpt = None,
    eager: Annotated[
        bool | None, typer.Option("--eager/--compiled", help=EagerHelp), Default(f"{_BACKEND}.enforce_eager")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port of a server started here (0: a free one)."), Default(f"{_BACKEND}.port")
    ] = None,
    startup_timeout: Annotated[
        float | None, typer.Option(help=TimeoutHelp), Default(f"{_BACKEND}.startup_timeout_s")
    ] = None,
    threads: Annotated[int | None, typer.Option(help=ThreadsHelp), Default(f"{_BACKEND}.threads")] = None,
    cpu_bind: Annotated[str | None, typer.Option(help=BindHelp), Default(f"{_BACKEND}.cpu_bind")] = None,
    skip_bad: SkipBadOpt = None,
    read_report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """Generate N synthetic descriptions of one style into a resumable JSONL file."""
    from augment import runner
    from augment.adapters import find_adapters, read_meta
    from augment.generate import GenerationRate
    from augment.generation_config import RetryPolicy, SamplingConfig
    from augment.prompts import MODES, adapter_unit, real_lengths, unit_mode
    from augment.serve import BASE_NAME

    if endpoint is None and adapters is None and not prompt_only:
        raise typer.BadParameter("give --endpoint URL, --adapters DIR, or --prompt-only")
    if in_process is not None and endpoint is not None:
        raise typer.BadParameter("--in-process/--server start vLLM here; they do not take --endpoint")
    style_name: Style = "ad" if OneStyle(style) is OneStyle.ad else "hc"
    try:
        sampling = SamplingConfig(**given(ctx, SamplingConfig))
        retry = RetryPolicy(**given(ctx, RetryPolicy))
    except ValueError as e:
        raise typer.BadParameter(one_line(e)) from None
    backend = runner.Backend(
        endpoint=endpoint,
        api_key=api_key,
        where="auto" if in_process is None else "in-process" if in_process else "server",
        weights="auto" if merged is None else "merged" if merged else "lora",
        retry=retry,
        **given(ctx, runner.Backend),
    )

    if prompt_only:
        from augment.prompt_only import FewShotPrompter, PromptOnlyConfig

        if model is not None and endpoint is None:
            raise typer.BadParameter(f"the local base model is {BASE_NAME!r}; --model names a model on --endpoint")
        corpus_read, _ = read_options(skip_bad, read_report, visits).load(corpus)
        training = [t for t in corpus_read if t.split in ("train", None)]
        prompter = FewShotPrompter(training, style_name, PromptOnlyConfig(**given(ctx, PromptOnlyConfig)))
        job = runner.prompt_only_job(
            out,
            n,
            style_name,
            prompter,
            base_model=base_model,
            name=model or BASE_NAME,
            lengths=real_lengths(training, style_name),
        )
    else:
        found = find_adapters(adapters, **given(ctx, find_adapters)) if adapters else {}
        own = [adapter_unit(style_name, m) for m in MODES]  # the style's adapter, else the conditional one
        name = model or next((unit for unit in own if unit in found), next(iter(found), style_name))
        if found and name not in found:
            raise typer.BadParameter(
                f"no adapter named {name!r} in {adapters}; found {sorted(found)}", param_hint="--model"
            )
        adapter = found.get(name)
        mode = ((read_meta(adapter) or {}).get("mode") if adapter else None) or unit_mode(name)
        job = runner.adapter_job(out, n, style_name, name, adapter, mode=mode, base_model=base_model)

    resume = resume_command(ctx)
    _, have = runner.pending(job, backend, sampling)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as progress:
        task = progress.add_task(f"{style_name.upper()} {job.generator.name}", total=n, completed=have, rate="")
        rate = GenerationRate()

        def on_record(record) -> None:
            rate.add(record)
            progress.update(task, advance=1, rate=rate.text())

        try:
            # on_job: vLLM is up and this job starts now, so the rate leaves the start-up out
            (report,) = runner.run_jobs(
                [job],
                backend,
                sampling,
                on_record=on_record,
                on_job=lambda done, total: rate.start(),
                resume_command=resume,
            )
        except KeyboardInterrupt:
            STDERR.print(f"[yellow]interrupted; {out} is valid. Resume with:[/yellow] {resume}")
            raise typer.Exit(code=130) from None
    STDERR.print(f"{report.total}/{n} records in {out} ({report.written} new, {report.already_there} already there)")
