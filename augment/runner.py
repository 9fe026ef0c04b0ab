"""Which generator, where: from a description to a running generation.

The one place that decides how synthetic descriptions are generated; ``cookiebench
augment generate`` and the benchmark both call it::

    job = adapter_job("synth-ad.jsonl", 200, "ad", "ad", Path("runs/generators/ad/dpo/adapter"), mode="separate")
    run_jobs([job], Backend(), SamplingConfig(seed=0))

A :class:`Job` says which :class:`Generator` (a LoRA adapter, or the bare base model with
few-shot prompts) fills which resumable JSONL file; a :class:`Backend` says where it runs,
and :func:`placement` decides, once:

- ``endpoint`` given: an OpenAI-compatible server someone else runs; each generator is
  asked for by the name that server gives it, and its records are tagged ``lora``.
- otherwise vLLM is started here, ``where``: ``in-process`` (``vllm.LLM`` without HTTP, in
  a worker process of its own, :mod:`augment.engine`) or ``server`` (vLLM's
  OpenAI-compatible server, :mod:`augment.serve`). ``auto``: in-process on the CPU build,
  where it generates faster than a merged server (no API-server process competes for the
  cores) and starts faster; a server elsewhere (rates: bench-results/README.md, B18).
- ``weights``: ``merged`` (each adapter folded into full weights, one vLLM per generator,
  started and stopped in turn) or ``lora`` (one vLLM for the base model and every adapter,
  by name). ``auto``: merged on the CPU build, where vLLM's LoRA path is several times
  slower than merged weights; LoRA elsewhere (one GPU process for all adapters).

:func:`run_jobs` runs the jobs not complete yet (a finished run starts nothing), one vLLM
at a time, and returns a report per job.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from augment.adapters import adapter_hash, read_meta
from augment.base_model import MODEL_NAME
from augment.generate import Engine, GenerationError, GenerationReport, Messages, pending_indices, run_generation
from augment.generation_config import RetryPolicy, SamplingConfig
from augment.prompts import Mode, PromptDesign, Style, draw_length, task_messages
from augment.serve import BASE_NAME, ServeConfig, VLLMConfig, VLLMServer, is_cpu_build
from augment.synthetic import GeneratorInfo, SyntheticDescription, read_records

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generator:
    """A generator to sample from: a LoRA adapter, or the base model itself."""

    name: str  # the model name in requests and in record ids; "base" for the local base model
    adapter: Path | None = None  # LoRA adapter folder; None: the base model, or a model the endpoint serves as `name`
    base_model: str | None = None  # local HF folder (default: the prepared SmolLM2)
    config_hash: str | None = None  # the adapter's content hash, or the prompt set's
    method: str | None = None  # the prompt-only baseline: "few-shot-<shots>"
    stage: str | None = None  # the training stage that wrote the adapter (sft, dpo), from its metadata

    def info(self, merged: bool) -> GeneratorInfo:
        """What its records are tagged with; ``merged``: the adapter runs folded into the weights."""
        base = self.base_model or MODEL_NAME
        if self.method:
            return GeneratorInfo(kind="prompt-only", base_model=base, method=self.method, config_hash=self.config_hash)
        kind = "merged" if merged and self.adapter is not None else "lora"
        return GeneratorInfo(
            kind=kind, base_model=base, adapter=self.name, config_hash=self.config_hash, stage=self.stage
        )


@dataclass(frozen=True)
class Job:
    """One resumable JSONL file: ``n`` records of one style from one generator."""

    out: Path
    n: int
    style: Style
    generator: Generator
    prompts: Callable[[int], Messages]  # the prompt of record i
    parents: Callable[[int], tuple[str, ...]] | None = None  # real transcripts behind record i
    lengths: tuple[int, ...] = ()  # real lengths of the style's training transcripts (length_spread)


def adapter_job(
    out: str | Path,
    n: int,
    style: Style,
    name: str,
    adapter: str | Path | None,
    *,
    mode: Mode,
    base_model: str | None = None,
    parents: Callable[[int], tuple[str, ...]] | None = None,
    lengths: tuple[int, ...] = (),
) -> Job:
    """A trained generator's job: the task prompt of ``mode`` (separate or conditional), as the adapter
    was trained to be asked (its card's prompt design, drawn per record; the fixed prompt for an
    adapter without one).

    ``adapter`` None: a model an endpoint serves under ``name`` (asked with the fixed prompt).
    ``lengths``: the style's real training lengths, for sampling's ``length_spread`` (default: those
    on the adapter's card, of the transcripts it was trained on).
    """
    adapter = Path(adapter) if adapter is not None else None
    meta = (read_meta(adapter) or {}) if adapter is not None else {}
    lengths = lengths or card_lengths(meta.get("prompt"), style)
    generator = Generator(
        name,
        adapter=adapter,
        base_model=base_model,
        config_hash=adapter_hash(adapter) if adapter is not None else None,
        stage=meta.get("stage"),
    )
    return Job(Path(out), n, style, generator, record_prompts(style, mode, meta.get("prompt")), parents, lengths)


def record_prompts(style: Style, mode: Mode, card: dict | None) -> Callable[[int], Messages]:
    """Record ``i``'s prompt under an adapter card's ``prompt`` entry (:func:`augment.stages.prompt_card`)."""
    design = PromptDesign(**card["design"]) if card else PromptDesign()
    if design.is_fixed():
        messages = task_messages(style, mode)
        return lambda i: messages
    lengths = card_lengths(card, style)
    return lambda i: task_messages(style, mode, design, key=[style, i], words=draw_length(lengths, [style, i]))


def card_lengths(card: dict | None, style: Style) -> tuple[int, ...]:
    """The real training lengths of ``style`` on an adapter card's ``prompt`` entry (none on an old card)."""
    return tuple((card or {}).get("lengths", {}).get(style, ()))


def prompt_only_job(
    out: str | Path,
    n: int,
    style: Style,
    prompter,
    *,
    base_model: str | None = None,
    name: str = BASE_NAME,
    lengths: tuple[int, ...] = (),
) -> Job:
    """The prompt-only baseline's job: the base model, few-shot prompts of
    :class:`augment.prompt_only.FewShotPrompter` (``lengths`` as for :func:`adapter_job`)."""
    generator = Generator(
        name, base_model=base_model, config_hash=prompter.config_hash(), method=f"few-shot-{prompter.config.shots}"
    )
    return Job(Path(out), n, style, generator, prompter, prompter.parents, lengths)


@dataclass(frozen=True)
class Backend:
    """Where generation runs (see the module docstring for ``where`` and ``weights``)."""

    # -- where ------------------------------------------------------------------------
    endpoint: str | None = None  # a running OpenAI-compatible server; None: start vLLM here
    api_key: str | None = None
    where: Literal["auto", "in-process", "server"] = "auto"
    weights: Literal["auto", "merged", "lora"] = "auto"
    # -- the vLLM started here --------------------------------------------------------
    enforce_eager: bool = True  # no graph compilation: starts in seconds
    max_model_len: int = VLLMConfig.max_model_len
    port: int = 0  # server only; 0 picks a free one
    threads: int | None = None  # CPU build: OpenMP threads (default: all cores)
    cpu_bind: str | None = VLLMConfig.cpu_bind  # CPU build: VLLM_CPU_OMP_THREADS_BIND
    startup_timeout_s: float = VLLMConfig.startup_timeout_s
    log_dir: Path | None = None  # vLLM logs go here (default: temp files)
    # -- requests ---------------------------------------------------------------------
    concurrency: int = 16  # requests in flight on a server; prompts per chunk in-process
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class Placement:
    """The decision: where generation runs, and whether adapters run merged into full weights."""

    where: Literal["endpoint", "in-process", "server"]
    merged: bool


def placement(backend: Backend) -> Placement:
    """The one decision of endpoint / in-process / server and merged / LoRA (see the module docstring)."""
    if backend.endpoint:
        return Placement("endpoint", merged=False)  # the endpoint serves what it serves, by name
    cpu = is_cpu_build()
    where = backend.where if backend.where != "auto" else ("in-process" if cpu else "server")
    merged = backend.weights == "merged" if backend.weights != "auto" else cpu
    return Placement(where, merged)


def record_info(job: Job, backend: Backend) -> GeneratorInfo:
    """What the job's records are tagged with. A file begun before records said which training
    stage wrote them is completed without it, so that it stays one run's file (and resumes)."""
    info = job.generator.info(placement(backend).merged)
    if info.stage is not None:
        begun = read_records(job.out)[:1]
        if begun and begun[0].generator.stage is None:
            return info.model_copy(update={"stage": None})
    return info


def job_sampling(job: Job, sampling: SamplingConfig) -> SamplingConfig:
    """``sampling`` as ``job`` asks it: the filler tokens of its base model, its style's real lengths."""
    if sampling.filler_bias and not sampling.filler_tokens:
        sampling = dataclasses.replace(sampling, filler_tokens=filler_tokens(job.generator.base_model))
    if sampling.length_spread and not sampling.lengths:
        if not job.lengths:
            raise GenerationError(
                f"{job.out}: length_spread needs the real lengths of the {job.style.upper()} training transcripts, and "
                f"{job.generator.name!r} has none (an endpoint's model, or an adapter trained before its card held "
                "them): retrain it, or set length_spread to 0"
            )
        sampling = dataclasses.replace(sampling, lengths=job.lengths)
    return sampling


def pending(job: Job, backend: Backend, sampling: SamplingConfig) -> tuple[list[int], int]:
    """Indices of ``job`` still to generate, and how many are there (refuses a file of another run)."""
    return pending_indices(
        job.out,
        job.n,
        style=job.style,
        model=job.generator.name,
        sampling=job_sampling(job, sampling),
        generator=record_info(job, backend),
    )


def batches(jobs: Sequence[Job], where: Placement) -> list[list[Job]]:
    """Jobs that share one running vLLM, in order of first appearance.

    An endpoint serves them all; LoRA: one vLLM per base model; merged: one per generator
    (and one for the base model's jobs).
    """
    if where.where == "endpoint":
        return [list(jobs)] if jobs else []
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        g = job.generator
        key = (g.base_model, g.name if where.merged and g.adapter is not None else None)
        groups.setdefault(key, []).append(job)
    return list(groups.values())


@dataclass
class Running:
    """A started generation: an OpenAI client on a server, or an engine."""

    placement: Placement
    backend: Backend
    client: Any = None
    engine: Engine | None = None

    def run(
        self,
        job: Job,
        sampling: SamplingConfig,
        *,
        on_record: Callable[[SyntheticDescription], None] | None = None,
        resume_command: str | None = None,
    ) -> GenerationReport:
        sampling = job_sampling(job, sampling)
        return run_generation(
            job.out,
            job.prompts,
            n=job.n,
            style=job.style,
            model=job.generator.name,
            generator=record_info(job, self.backend),
            sampling=sampling,
            client=self.client,
            engine=self.engine,
            concurrency=self.backend.concurrency,
            retry=self.backend.retry,
            on_record=on_record,
            resume_command=resume_command,
            parent_ids=job.parents,
        )


FILLER_WORDS = ("uh", "um")  # the commonest in the corpus (detect.chat.FILLERS has the rest)


@functools.cache
def filler_tokens(base_model: str | None) -> tuple[int, ...]:
    """Token ids of the filler words as said mid-sentence or to open one (' uh', ' Um', ...), those the base
    model's tokenizer writes as one token: biasing the first piece of a split word would bias every word
    that begins with it. Without a space a filler is a word's suffix ('alb-um'), so those stay out."""
    from transformers import AutoTokenizer

    from augment.base_model import resolve_base_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(base_model))
    ids = [
        tokenizer.encode(f" {form}", add_special_tokens=False)
        for word in FILLER_WORDS
        for form in (word, word.capitalize())
    ]
    found = tuple(sorted({i[0] for i in ids if len(i) == 1}))
    if not found:
        logger.warning(
            "filler_bias: no filler word is a single token of %s; nothing is biased", base_model or MODEL_NAME
        )
    return found


def vllm_config(generators: Sequence[Generator], backend: Backend, where: Placement) -> VLLMConfig:
    """The vLLM that runs ``generators`` (one batch of :func:`batches`): a server's or an engine's."""
    local_base = [g.name for g in generators if g.adapter is None and g.name != BASE_NAME]
    if local_base:
        raise ValueError(f"{local_base}: without an endpoint, the base model is asked for as {BASE_NAME!r}")
    adapters = {g.name: g.adapter for g in generators if g.adapter is not None}
    names = "-".join(sorted(adapters)) or BASE_NAME
    options: dict[str, Any] = dict(
        base_model=generators[0].base_model,
        adapters=adapters,
        merged=where.merged and bool(adapters),
        enforce_eager=backend.enforce_eager,
        max_model_len=backend.max_model_len,
        omp_threads=backend.threads,
        cpu_bind=backend.cpu_bind,
        startup_timeout_s=backend.startup_timeout_s,
        log_path=backend.log_dir / f"vllm-{where.where}-{names[:80]}.log" if backend.log_dir else None,
    )
    if where.where == "server":
        return ServeConfig(**options, port=backend.port, api_key=backend.api_key)
    return VLLMConfig(**options)


@contextmanager
def started(generators: Sequence[Generator], backend: Backend) -> Iterator[Running]:
    """The generation ``generators`` run on: a client on the endpoint, or vLLM started here (stopped on exit)."""
    where = placement(backend)
    if where.where == "endpoint":
        from openai import OpenAI

        yield Running(where, backend, client=OpenAI(base_url=backend.endpoint, api_key=backend.api_key or "EMPTY"))
        return
    config = vllm_config(generators, backend, where)
    if isinstance(config, ServeConfig):  # what vllm_config makes for a server
        with VLLMServer(config) as server:
            yield Running(where, backend, client=server.client())
    else:
        from augment.engine import EngineProcess

        with EngineProcess(config) as engine:
            yield Running(where, backend, engine=engine)


def run_jobs(
    jobs: Sequence[Job],
    backend: Backend,
    sampling: SamplingConfig,
    *,
    on_record: Callable[[SyntheticDescription], None] | None = None,
    on_job: Callable[[int, int], None] | None = None,
    resume_command: str | None = None,
) -> list[GenerationReport]:
    """Completes every job's file, starting vLLM only for the jobs with records missing.

    Every file is checked against this run before anything starts. ``on_job(done, total)``
    is called before each job and at the end; reports come in the order of ``jobs``.
    """
    reports: dict[int, GenerationReport] = {}
    todo: list[Job] = []
    for job in jobs:
        missing, have = pending(job, backend, sampling)
        if missing:
            todo.append(job)
        else:
            reports[id(job)] = GenerationReport(out=job.out, requested=job.n, already_there=have, written=0)
    done = len(jobs) - len(todo)
    where = placement(backend)
    todo_batches = batches(todo, where)
    logger.info(
        "generation: %d of %d files to complete; %s%s",
        len(todo),
        len(jobs),
        backend.endpoint or f"{len(todo_batches)} vLLM start(s), {where.where}",
        ", adapters merged" if where.merged and not backend.endpoint else "",
    )
    for batch in todo_batches:
        with started([job.generator for job in batch], backend) as running:
            for job in batch:
                if on_job is not None:
                    on_job(done, len(jobs))
                reports[id(job)] = running.run(job, sampling, on_record=on_record, resume_command=resume_command)
                done += 1
    if on_job is not None:
        on_job(len(jobs), len(jobs))
    return [reports[id(job)] for job in jobs]
