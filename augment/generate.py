"""Batch generation of synthetic descriptions through an OpenAI-compatible endpoint.

One path, :func:`generate_batch`, sends every prompt through the OpenAI client with
bounded concurrency (asyncio + a semaphore), retrying connection errors, timeouts, 5xx
and garbled responses with exponential backoff. :func:`run_generation` wraps it into a
resumable job: record ``i`` is the ``i``-th prompt sampled with seed ``seed + i`` and id
``<style>-<model>-s<seed>-<i>``, appended atomically to a JSONL file the moment it
arrives, so a rerun with the same arguments only asks for the missing indices and ends
with exactly ``n`` unique records. Ctrl-C cancels in-flight requests; what was written
stays valid.

:func:`generate_in_process` is the server-less alternative (``vllm.LLM`` in this
process, one ``generate`` call for the whole batch), for one-machine runs.

Run::

    cookiebench serve --adapters runs/adapters &
    cookiebench augment generate --endpoint http://127.0.0.1:8000/v1 --style ad --n 200 --out synth-ad.jsonl
    cookiebench augment generate --adapters runs/adapters --style hc --n 200 --out synth-hc.jsonl
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detect.errors import UserError

from augment.synthetic import (
    GeneratorInfo,
    RecordWriter,
    SamplingInfo,
    SyntheticDescription,
    prompt_hash,
    read_records,
)

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]


class GenerationError(UserError):
    """Generation stopped: the endpoint kept failing, refused the request, or the output file is from another run."""


@dataclass
class SamplingConfig:
    """Sampling parameters sent with every request; record ``i`` uses ``seed + i``.

    The default truncation is min-p (keep tokens at least ``min_p`` times as likely as the
    most likely one), not top-p: the two keep text equally on track, but vLLM's CPU sampler
    sorts the whole 49k vocabulary of every sequence at every step for top-p, half of a step's
    time in a profile on 2 cores, while min-p is one threshold (2.1x the in-process rate in `make bench`).
    """

    temperature: float = field(default=0.9, metadata={"help": "Sampling temperature."})
    min_p: float = field(default=0.05, metadata={"help": "Min-p truncation (0: off)."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass (1: off)."})
    max_tokens: int = field(default=160, metadata={"help": "Most tokens generated per description."})
    seed: int = field(default=0, metadata={"help": "Seed of record 0; record i uses seed + i."})
    ignore_eos: bool = field(default=False, metadata={"help": "Always generate max_tokens (benchmarks: equal lengths)."})

    def __post_init__(self):
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0 <= self.min_p < 1:
            raise ValueError(f"min_p must be in [0, 1), got {self.min_p}")
        if self.max_tokens <= 0:
            raise ValueError(f"max_tokens must be > 0, got {self.max_tokens}")

    def info(self, index: int) -> SamplingInfo:
        return SamplingInfo(seed=self.seed + index, temperature=self.temperature, top_p=self.top_p, min_p=self.min_p,
                            max_tokens=self.max_tokens)

    def vllm_extras(self) -> dict[str, Any]:
        """vLLM's own sampling fields, beyond the OpenAI API (sent in the request body)."""
        extras: dict[str, Any] = {"min_p": self.min_p} if self.min_p else {}
        if self.ignore_eos:
            extras.update(ignore_eos=True, min_tokens=self.max_tokens)
        return extras


@dataclass
class RetryPolicy:
    """How hard to try before giving up."""

    attempts: int = field(default=4, metadata={"help": "Tries per request (connection errors, timeouts, 5xx, garbage)."})
    backoff_s: float = field(default=1.0, metadata={"help": "First backoff; doubles per retry, with jitter."})
    max_backoff_s: float = field(default=30.0, metadata={"help": "Longest single backoff."})
    timeout_s: float = field(default=300.0, metadata={"help": "Per-request timeout."})
    max_failed_requests: int = field(default=1, metadata={"help": "Requests that may exhaust their tries before the run stops."})

    def __post_init__(self):
        if self.attempts < 1 or self.max_failed_requests < 1:
            raise ValueError("attempts and max_failed_requests must be >= 1")

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return base * (0.5 + rng.random() / 2)  # jitter: concurrent retries do not stampede


@dataclass(frozen=True)
class Completion:
    index: int
    text: str
    finish_reason: str | None
    completion_tokens: int | None


class _Retryable(Exception):
    """A response we cannot use but might on another try (no choices, no text)."""


def _retryable_errors() -> tuple[type[BaseException], ...]:
    import httpx
    import openai

    return (
        openai.APIConnectionError,  # includes APITimeoutError
        openai.InternalServerError,  # 5xx
        openai.RateLimitError,
        openai.APIResponseValidationError,
        json.JSONDecodeError,
        httpx.TransportError,
        _Retryable,
    )


def _async_client(client: Any, timeout_s: float):
    """An ``AsyncOpenAI`` for ``client`` (sync or async), without the client's own retries."""
    from openai import AsyncOpenAI, OpenAI

    if isinstance(client, AsyncOpenAI):
        return client.with_options(max_retries=0, timeout=timeout_s)
    if isinstance(client, OpenAI):
        return AsyncOpenAI(base_url=str(client.base_url), api_key=client.api_key, max_retries=0, timeout=timeout_s)
    raise TypeError(f"expected an openai.OpenAI or AsyncOpenAI client, got {type(client).__name__}")


def generate_batch(
    client: Any,
    prompts: Sequence[Messages],
    sampling: SamplingConfig,
    *,
    model: str,
    indices: Sequence[int] | None = None,
    concurrency: int = 16,
    retry: RetryPolicy | None = None,
    on_result: Callable[[Completion], None] | None = None,
) -> list[Completion]:
    """Chat completions for ``prompts`` (``prompts[k]`` sampled with seed ``seed + indices[k]``).

    ``on_result`` is called in this thread, once per completion, as each arrives (for
    appending to a file, a progress bar). Returns the completions in arrival order.
    Raises :class:`GenerationError` after ``retry.max_failed_requests`` requests exhausted
    their tries, or at once on a non-retryable error (bad model name, auth).
    """
    retry = retry or RetryPolicy()
    indices = list(range(len(prompts))) if indices is None else list(indices)
    assert len(indices) == len(prompts), f"{len(indices)} indices for {len(prompts)} prompts"
    if not prompts:
        return []
    return asyncio.run(_generate(client, prompts, sampling, model, indices, concurrency, retry, on_result))


async def _generate(client, prompts, sampling, model, indices, concurrency, retry, on_result) -> list[Completion]:
    import openai

    aclient = _async_client(client, retry.timeout_s)
    retryable = _retryable_errors()
    semaphore = asyncio.Semaphore(max(1, concurrency))
    rng = random.Random(sampling.seed)
    results: list[Completion] = []
    failures: list[str] = []

    async def one(k: int) -> Completion:
        index = indices[k]
        async with semaphore:
            for attempt in range(1, retry.attempts + 1):
                try:
                    response = await aclient.chat.completions.create(
                        model=model,
                        messages=prompts[k],
                        temperature=sampling.temperature,
                        top_p=sampling.top_p,
                        max_tokens=sampling.max_tokens,
                        seed=sampling.seed + index,
                        extra_body=sampling.vllm_extras() or None,
                    )
                    choices = getattr(response, "choices", None)
                    text = choices[0].message.content if choices else None
                    if not isinstance(text, str):
                        raise _Retryable("malformed completion (no choices or no text)")
                    # An empty text is an answer, not a fault: a seeded request would give it
                    # again on every retry. It is recorded and the length filter rejects it.
                    usage = getattr(response, "usage", None)
                    return Completion(index, text.strip(), choices[0].finish_reason, getattr(usage, "completion_tokens", None))
                except openai.APIStatusError as exc:
                    if not isinstance(exc, retryable):
                        raise GenerationError(
                            f"{aclient.base_url}: request for model {model!r} refused with HTTP {exc.status_code}: "
                            f"{_short(exc)} (check --endpoint, the model name and --api-key)"
                        ) from None
                    error: BaseException = exc
                except retryable as exc:
                    error = exc
                if attempt < retry.attempts:
                    wait = retry.delay(attempt, rng)
                    logger.warning("record %d: %s (try %d/%d); retrying in %.1fs", index, _short(error), attempt, retry.attempts, wait)
                    await asyncio.sleep(wait)
            failures.append(f"record {index}: {_short(error)}")
            raise _GaveUp(failures[-1])

    tasks = [asyncio.ensure_future(one(k)) for k in range(len(prompts))]
    try:
        for fut in asyncio.as_completed(tasks):
            try:
                completion = await fut
            except _GaveUp:
                if len(failures) >= retry.max_failed_requests:
                    raise GenerationError(
                        f"{aclient.base_url}: gave up after {len(failures)} request(s) failed {retry.attempts} times "
                        f"(last: {failures[-1]})"
                    ) from None
                continue
            results.append(completion)
            if on_result is not None:
                on_result(completion)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await aclient.close()
    return results


class _GaveUp(Exception):
    pass


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


# -- resumable job ------------------------------------------------------------------------


@dataclass
class GenerationReport:
    out: Path
    requested: int
    already_there: int
    written: int

    @property
    def total(self) -> int:
        return self.already_there + self.written


def record_id(style: str, model: str, seed: int, index: int) -> str:
    return f"{style}-{model}-s{seed}-{index:06d}"


def _check_same_run(existing: Sequence[SyntheticDescription], out: Path, style: str, generator: GeneratorInfo, sampling: SamplingConfig) -> None:
    for rec in existing:
        theirs = rec.sampling
        if rec.style != style or rec.generator != generator or theirs is None or (
            theirs.temperature, theirs.top_p, theirs.min_p, theirs.max_tokens) != (
                sampling.temperature, sampling.top_p, sampling.min_p, sampling.max_tokens):
            raise GenerationError(
                f"{out}: holds records from a different run (record {rec.id}: style {rec.style}, generator "
                f"{rec.generator.tag()}); resume with the same arguments or write to another --out"
            )


def pending_indices(out: str | Path, n: int, *, style: str, model: str, sampling: SamplingConfig, generator: GeneratorInfo) -> tuple[list[int], int]:
    """Indices in ``range(n)`` not yet in ``out``, and how many of ``range(n)`` are there."""
    out = Path(out)
    existing = read_records(out)
    _check_same_run(existing, out, style, generator, sampling)
    have = {r.id for r in existing}
    missing = [i for i in range(n) if record_id(style, model, sampling.seed, i) not in have]
    return missing, n - len(missing)


def run_generation(
    out: str | Path,
    prompts: Callable[[int], Messages] | Sequence[Messages],
    *,
    n: int,
    style: str,
    model: str,
    generator: GeneratorInfo,
    sampling: SamplingConfig | None = None,
    client: Any = None,
    engine: InProcessEngine | None = None,
    concurrency: int = 16,
    retry: RetryPolicy | None = None,
    on_record: Callable[[SyntheticDescription], None] | None = None,
    resume_command: str | None = None,
    parent_ids: Callable[[int], tuple[str, ...]] | None = None,
) -> GenerationReport:
    """Completes ``out`` to exactly ``n`` records for this run, appending what is missing.

    ``prompts``: the prompt of record ``i`` (a callable, or a sequence of at least ``n``).
    Exactly one of ``client`` (an OpenAI client on a server) or ``engine`` (in-process vLLM).
    On a give-up the :class:`GenerationError` says how many records are safely written
    and, when given, ``resume_command``.
    """
    if (client is None) == (engine is None):
        raise ValueError("pass exactly one of client= or engine=")
    sampling = sampling or SamplingConfig()
    out = Path(out)
    prompt_of = prompts if callable(prompts) else prompts.__getitem__
    missing, have = pending_indices(out, n, style=style, model=model, sampling=sampling, generator=generator)
    report = GenerationReport(out=out, requested=n, already_there=have, written=0)
    if not missing:
        logger.info("%s already holds all %d records", out, n)
        return report
    logger.info("%s: %d of %d records there, generating %d", out, have, n, len(missing))
    batch = [prompt_of(i) for i in missing]

    with RecordWriter(out) as writer:
        def write(c: Completion) -> None:
            rec = SyntheticDescription(
                id=record_id(style, model, sampling.seed, c.index),
                style=style,
                text=c.text,
                generator=generator,
                sampling=sampling.info(c.index),
                prompt_hash=prompt_hash(prompt_of(c.index)),
                parent_ids=parent_ids(c.index) if parent_ids else (),
                finish_reason=c.finish_reason,
                completion_tokens=c.completion_tokens,
            )
            writer.write(rec)
            report.written += 1
            if on_record is not None:
                on_record(rec)

        try:
            if engine is not None:
                for c in engine.generate(batch, sampling, indices=missing):
                    write(c)
            else:
                generate_batch(client, batch, sampling, model=model, indices=missing, concurrency=concurrency, retry=retry, on_result=write)
        except GenerationError as exc:
            hint = f"; resume with: {resume_command}" if resume_command else "; rerun with the same arguments to resume"
            raise GenerationError(f"{exc} -- {report.total}/{n} records are safely in {out}{hint}") from None
    return report


# -- in-process vLLM ----------------------------------------------------------------------


class InProcessEngine:
    """``vllm.LLM`` in this process: no server, one ``generate`` call per batch.

    On the CPU build the engine must run in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``)
    and needs ``OMP_NUM_THREADS``; both are set here, before vLLM is imported, if unset.
    """

    def __init__(self, model: str | Path, *, lora: str | Path | None = None, enforce_eager: bool = True,
                 max_model_len: int = 2048, kv_cache_gib: int = 1, omp_threads: int | None = None):
        from augment.serve import is_cpu_build

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if is_cpu_build():
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(kv_cache_gib))
            if omp_threads:
                os.environ["OMP_NUM_THREADS"] = str(omp_threads)
            # Without it the in-process CPU engine runs 20-60x slower.
            os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))
        from vllm import LLM

        kwargs: dict[str, Any] = {}
        if is_cpu_build():  # see augment.serve.cpu_scheduler_args
            kwargs.update(enable_chunked_prefill=False, max_num_batched_tokens=max(max_model_len, 4096))
        if lora is not None:
            rank = json.loads((Path(lora) / "adapter_config.json").read_text()).get("r", 8)
            kwargs.update(enable_lora=True, max_loras=1, max_lora_rank=max(8, rank))
        self.lora = Path(lora) if lora else None
        self.llm = LLM(model=str(model), enforce_eager=enforce_eager, max_model_len=max_model_len,
                       generation_config="vllm", trust_remote_code=False, **kwargs)

    def generate(self, prompts: Sequence[Messages], sampling: SamplingConfig, *,
                 indices: Sequence[int] | None = None) -> Iterator[Completion]:
        """Completions in the order they finish, the whole list batched continuously.

        Requests go straight to the engine (``add_request``/``step``) rather than through
        ``LLM.chat``, which returns only when every request is done: here each record can
        be written, and the progress bar move, the moment it is finished. Requests still
        running when the caller stops (Ctrl-C, an error) are aborted.
        """
        from vllm import SamplingParams
        from vllm.lora.request import LoRARequest
        from vllm.sampling_params import RequestOutputKind

        indices = list(range(len(prompts))) if indices is None else list(indices)
        engine = self.llm.llm_engine
        tokenizer = self.llm.get_tokenizer()
        lora = LoRARequest(self.lora.name, 1, str(self.lora)) if self.lora else None
        pending: dict[str, int] = {}
        try:
            for i, messages in zip(indices, prompts):
                text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
                params = SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p, min_p=sampling.min_p,
                                        max_tokens=sampling.max_tokens, seed=sampling.seed + i,
                                        ignore_eos=sampling.ignore_eos, output_kind=RequestOutputKind.FINAL_ONLY)
                request_id = f"cookiebench-{i}"
                # the chat template already holds the special tokens
                engine.add_request(request_id, {"prompt_token_ids": tokenizer(text, add_special_tokens=False).input_ids},
                                   params, lora_request=lora)
                pending[request_id] = i
            while pending:
                for output in engine.step():
                    if output.finished and output.request_id in pending:
                        first = output.outputs[0]
                        yield Completion(pending.pop(output.request_id), first.text.strip(), first.finish_reason,
                                         len(first.token_ids))
        finally:
            if pending:
                engine.abort_request(list(pending))


def generate_in_process(model: str | Path, prompts: Sequence[Messages], sampling: SamplingConfig, *,
                        lora: str | Path | None = None, enforce_eager: bool = True) -> list[Completion]:
    """One-shot convenience: build an :class:`InProcessEngine` and generate the whole batch."""
    return list(InProcessEngine(model, lora=lora, enforce_eager=enforce_eager).generate(prompts, sampling))
