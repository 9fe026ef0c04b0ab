"""`cookiebench serve` and `cookiebench augment generate|filter|classic`.

    cookiebench serve --adapters runs/generators                  # base, ad, hc on 127.0.0.1:8000
    cookiebench augment generate --endpoint http://127.0.0.1:8000/v1 --style ad --n 200 --out synth-ad.jsonl
    cookiebench augment generate --adapters runs/generators --style hc --n 200 --out synth-hc.jsonl
    cookiebench augment generate --prompt-only --style ad --n 200 --out po-ad.jsonl
    cookiebench augment filter synth-ad.jsonl --out synth-ad.filtered.jsonl
    cookiebench augment classic --out classic.jsonl --intensity 0.1
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
import time
from pathlib import Path
from enum import Enum
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from augment.serve import BASE_NAME, ServeConfig, VLLMServer, adapter_hash, adapter_meta, find_adapters
from detect.corpus_cli import ReportOpt, SkipBadOpt, VisitsOpt, read_options
from detect.readers import Visits

logger = logging.getLogger(__name__)
console = Console(stderr=True)



class StyleChoice(str, Enum):
    ad = "ad"
    hc = "hc"


serve_app = typer.Typer(help="Serve the generators through vLLM.", no_args_is_help=False)

AdaptersOpt = Annotated[Path | None, typer.Option(help="Adapters: `cookiebench augment train` output, or a folder of ad/ and hc/ LoRA adapters.")]
BaseOpt = Annotated[str | None, typer.Option("--base-model", help="Base model folder (default: the prepared SmolLM2).")]
HostOpt = Annotated[str, typer.Option(help="Bind address. Loopback by default; anything else exposes the server.")]
PortOpt = Annotated[int, typer.Option(help="Port (0: a free one).")]
KeyOpt = Annotated[str | None, typer.Option("--api-key", envvar="COOKIEBENCH_API_KEY", help="Bearer key the server requires / the client sends.")]
EagerOpt = Annotated[bool, typer.Option("--eager/--compiled", help="Eager: starts in seconds; compiled: faster generation, slow first start.")]
TimeoutOpt = Annotated[float, typer.Option("--startup-timeout", help="Seconds to wait for the server to become healthy.")]
ThreadsOpt = Annotated[int | None, typer.Option(help="CPU build: OpenMP threads for vLLM (default: all cores; use 1 on a busy shared machine).")]
BindOpt = Annotated[str, typer.Option(help="CPU build: VLLM_CPU_OMP_THREADS_BIND (nobind, auto, or core ids); unpinned ran 1.3x faster on 2 cores.")]


def _server_config(adapters: dict, base_model, host, port, api_key, eager, merged, startup_timeout, max_model_len=2048, log=None,
                   threads=None, cpu_bind="nobind") -> ServeConfig:
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning: binding to {host}: the server is reachable from other machines"
                      f"{'' if api_key else ' and has no --api-key'}[/yellow]")
    return ServeConfig(base_model=base_model, adapters=adapters, merged=merged, host=host, port=port, api_key=api_key,
                       enforce_eager=eager, startup_timeout_s=startup_timeout, max_model_len=max_model_len, log_path=log,
                       omp_threads=threads, cpu_bind=cpu_bind)


def _pick(adapters: dict, only: str | None, merged: bool) -> dict:
    if only is not None:
        if only not in adapters:
            raise typer.BadParameter(f"no adapter named {only!r}; found {sorted(adapters)}", param_hint="--only")
        return {only: adapters[only]}
    if merged and len(adapters) > 1:
        raise typer.BadParameter(f"--merged serves one adapter; choose it with --only ({' or '.join(sorted(adapters))})")
    return adapters


@serve_app.command("serve")
def serve(
    adapters: AdaptersOpt = None,
    only: Annotated[str | None, typer.Option(help="Serve only this adapter (e.g. ad).")] = None,
    merged: Annotated[bool, typer.Option(help="Fold the adapter into full weights (faster on CPU); one adapter per server.")] = False,
    stage: Annotated[str, typer.Option(help="Which training stage's adapters: dpo or sft.")] = "dpo",
    base_model: BaseOpt = None,
    host: HostOpt = "127.0.0.1",
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
    found = _pick(find_adapters(adapters, stage=stage), only, merged) if adapters else {}
    server = VLLMServer(_server_config(found, base_model, host, port, api_key, eager, merged, startup_timeout, max_model_len, log, threads, cpu_bind))
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


# -- generate -----------------------------------------------------------------------------------


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
    )


def generate_command(
    style: Annotated[StyleChoice, typer.Option(help="Which style to generate.")],
    n: Annotated[int, typer.Option(help="Records the output file must hold when done.", min=1)],
    out: Annotated[Path, typer.Option(help="JSONL file; appended to, so a rerun resumes.")],
    endpoint: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1.")] = None,
    adapters: AdaptersOpt = None,
    prompt_only: Annotated[bool, typer.Option("--prompt-only", help="Few-shot prompting of the bare base model (the baseline).")] = False,
    model: Annotated[str | None, typer.Option(help="Served model name (default: the style, 'cond', or 'base' for --prompt-only).")] = None,
    corpus: Annotated[Path | None, typer.Option(help="For --prompt-only: corpus whose training split gives the examples (default: the simulated cohort).")] = None,
    shots: Annotated[int, typer.Option(help="For --prompt-only: real examples per prompt.")] = 3,
    stage: Annotated[str, typer.Option(help="Which training stage's adapters: dpo or sft.")] = "dpo",
    merged: Annotated[bool, typer.Option(help="With --adapters: serve the adapter merged into full weights (faster on CPU).")] = True,
    in_process: Annotated[bool | None, typer.Option(
        "--in-process/--server",
        help="With --adapters or --prompt-only: vllm.LLM in this process, or a vLLM server started and stopped here. "
             "Default: in-process on the CPU build (1.5x the merged server's rate on 2 cores in `make bench`: no second process "
             "competes for the cores), a server otherwise.")] = None,
    base_model: BaseOpt = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.9,
    min_p: Annotated[float, typer.Option(help="Min-p truncation: keep tokens at least this share of the top one's probability (0: off).")] = 0.05,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass (1: off; slow on the CPU build).")] = 1.0,
    max_tokens: Annotated[int, typer.Option(help="Most tokens per description.")] = 160,
    seed: Annotated[int, typer.Option(help="Seed of record 0; record i uses seed + i.")] = 0,
    concurrency: Annotated[int, typer.Option(help="Requests in flight.")] = 16,
    retries: Annotated[int, typer.Option(help="Tries per request before it counts as failed.")] = 4,
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
    from augment.generate import GenerationError, InProcessEngine, RetryPolicy, SamplingConfig, run_generation
    from augment.prompts import task_messages
    from augment.synthetic import GeneratorInfo

    if endpoint is None and adapters is None and not prompt_only:
        raise typer.BadParameter("give --endpoint URL, --adapters DIR, or --prompt-only")
    if in_process and endpoint is not None:
        raise typer.BadParameter("--in-process runs vLLM here; it does not take --endpoint")
    if in_process is None:
        from augment.serve import is_cpu_build

        in_process = endpoint is None and is_cpu_build()
    style = StyleChoice(style).value
    sampling = SamplingConfig(temperature=temperature, min_p=min_p, top_p=top_p, max_tokens=max_tokens, seed=seed)
    retry = RetryPolicy(attempts=retries, timeout_s=request_timeout)
    resume = "cookiebench " + shlex.join(["augment", "generate", *_argv_after("generate")])

    parent_ids = None
    serve_adapters: dict = {}
    if prompt_only:
        from augment.prompt_only import FewShotPrompter, PromptOnlyConfig

        corpus_read, _ = read_options(skip_bad, read_report, visits).load(corpus)
        training = [t for t in corpus_read if t.split in ("train", None)]
        prompter = FewShotPrompter(training, style, PromptOnlyConfig(shots=shots, seed=seed))
        prompts, parent_ids, model = prompter, prompter.parents, model or BASE_NAME
        generator = GeneratorInfo(kind="prompt-only", base_model=base_model or "smollm2-135m-instruct",
                                  method=f"few-shot-{shots}", config_hash=prompter.config_hash())
        merged = False
    else:
        found = find_adapters(adapters, stage=stage) if adapters else {}
        name = model = model or (style if style in found or not found else "cond" if "cond" in found else next(iter(found)))
        if found and name not in found:
            raise typer.BadParameter(f"no adapter named {name!r} in {adapters}; found {sorted(found)}", param_hint="--model")
        adapter_dir = found.get(name)
        meta = adapter_meta(adapter_dir) if adapter_dir else {}
        mode = meta.get("mode") or ("conditional" if name == "cond" else "separate")
        prompts = [task_messages(style, mode)] * n
        merged = merged and adapter_dir is not None and endpoint is None
        generator = GeneratorInfo(
            kind="merged" if merged else "lora", base_model=base_model or "smollm2-135m-instruct", adapter=name,
            config_hash=meta.get("config_hash") or (adapter_hash(adapter_dir) if adapter_dir else None),
        )
        serve_adapters = {name: adapter_dir} if adapter_dir else {}

    with contextlib.ExitStack() as stack:
        client = engine = None
        if endpoint is not None:
            from openai import OpenAI

            client = OpenAI(base_url=endpoint, api_key=api_key or "EMPTY", max_retries=0)
        elif in_process:
            from augment.base_model import resolve_base_model
            from augment.serve import merge_adapter

            adapter_dir = next(iter(serve_adapters.values()), None)
            weights = merge_adapter(adapter_dir, base_model=base_model) if (merged and adapter_dir) else resolve_base_model(base_model)
            if cpu_bind:
                os.environ["VLLM_CPU_OMP_THREADS_BIND"] = cpu_bind  # read by vLLM when the engine starts
            with console.status("loading vLLM in-process..."):
                engine = InProcessEngine(weights, lora=None if merged else adapter_dir, enforce_eager=eager, omp_threads=threads)
        else:
            config = _server_config(serve_adapters, base_model, "127.0.0.1", port, api_key, eager, merged, startup_timeout,
                                    threads=threads, cpu_bind=cpu_bind)
            server = VLLMServer(config)
            with console.status("starting vLLM..."):
                stack.enter_context(server)
            client = server.client()
            if not serve_adapters:
                model = BASE_NAME

        with _progress() as progress:
            task = progress.add_task(f"{style.upper()} {model}", total=n, rate="")
            start, tokens = time.monotonic(), 0

            def on_record(record) -> None:
                nonlocal tokens
                tokens += record.completion_tokens or 0
                elapsed = max(1e-6, time.monotonic() - start)
                done = progress.tasks[0].completed + 1 - initial[0]
                progress.update(task, advance=1, rate=f"{60 * done / elapsed:.1f} desc/min {tokens / elapsed:.0f} tok/s")

            from augment.generate import pending_indices

            missing, have = pending_indices(out, n, style=style, model=model, sampling=sampling, generator=generator)
            initial = [have]
            progress.update(task, completed=have)
            try:
                report = run_generation(out, prompts, n=n, style=style, model=model, generator=generator, sampling=sampling,
                                        client=client, engine=engine, concurrency=concurrency, retry=retry,
                                        on_record=on_record, resume_command=resume, parent_ids=parent_ids)
            except KeyboardInterrupt:
                console.print(f"[yellow]interrupted; {out} is valid. Resume with:[/yellow] {resume}")
                raise typer.Exit(code=130) from None
            except GenerationError:
                raise
    console.print(f"{report.total}/{n} records in {out} ({report.written} new, {report.already_there} already there)")


def _argv_after(word: str) -> list[str]:
    argv = sys.argv[1:]
    return argv[argv.index(word) + 1 :] if word in argv else argv


# -- filter and classic -----------------------------------------------------------------------------


def filter_command(
    records: Annotated[Path, typer.Argument(help="Synthetic JSONL from `augment generate` or `augment classic`.")],
    out: Annotated[Path, typer.Option(help="Filtered JSONL: every record with its verdicts and markers.")],
    corpus: Annotated[Path | None, typer.Option(help="Real corpus the generator was trained from; its training split feeds the privacy and style checks (default: the simulated cohort).")] = None,
    privacy_ngram: Annotated[int, typer.Option(help="Shared word run with a real transcript that fails privacy.")] = 8,
    min_iu_coverage: Annotated[float, typer.Option(help="Least information-unit coverage to count as on topic.")] = 0.1,
    require_style: Annotated[bool, typer.Option(help="Also require the style check when counting what passes.")] = False,
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
    checked = apply_filters(items, config=config, training=training)
    passing = select(checked, require)
    write_records(out, passing if only_passing else checked)
    table = Table(title=f"{records.name}: {len(passing)}/{len(checked)} pass {', '.join(require)}")
    table.add_column("verdict")
    table.add_column("passed", justify="right")
    table.add_column("failed", justify="right")
    for name, counts in summary(checked).items():
        table.add_row(name, str(counts["passed"]), str(counts["failed"]))
    Console().print(table)


def classic_command(
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
