"""Batch generation of synthetic descriptions, and the resumable JSONL file it fills.

:func:`generate_batch` sends every prompt to an OpenAI-compatible endpoint with bounded
concurrency (asyncio + a semaphore). HTTP faults (connection errors, timeouts, 408, 429,
5xx) are retried by the openai client itself, with its own backoff; this module adds only
what the client cannot know: a completion without choices or text is asked for again a
bounded number of times, and the run stops once ``max_failed_requests`` requests failed.

:func:`run_generation` wraps it (or an engine of :mod:`augment.engine`) into a resumable
job: record ``i`` is the ``i``-th prompt sampled with seed ``seed + i`` and id
``<style>-<model>-s<seed>-<i>``, appended atomically to a JSONL file the moment it
arrives, so a rerun with the same arguments only asks for the missing indices and ends
with exactly ``n`` unique records; a rerun with any other sampling setting (the seed
included) is refused. Ctrl-C cancels in-flight requests; what was written stays valid.
:func:`read_generation` reads the file back in record order, whatever the arrival order.

Sampling and retries are configured in :mod:`augment.generation_config`. Which generator runs
where (endpoint, vLLM server, in-process engine) is decided in :mod:`augment.runner`.

Run::

    cookiebench serve --adapters runs/adapters &
    cookiebench augment generate --endpoint http://127.0.0.1:8000/v1 --style ad --n 200 --out synth-ad.jsonl
    cookiebench augment generate --adapters runs/adapters --style hc --n 200 --out synth-hc.jsonl
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from augment.generation_config import RetryPolicy, SamplingConfig
from augment.prompts import spoken
from augment.synthetic import (
    GeneratorInfo,
    RecordWriter,
    SyntheticDescription,
    prompt_hash,
    read_records,
)
from detect.errors import UserError

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]


class GenerationError(UserError):
    """Generation stopped: the endpoint kept failing, refused the request, or the output file is from another run."""


@dataclass(frozen=True)
class Completion:
    index: int
    text: str
    finish_reason: str | None
    completion_tokens: int | None


class Engine(Protocol):
    """What :func:`run_generation` needs of a server-less engine (:class:`augment.engine.EngineProcess`)."""

    def generate(
        self,
        prompts: Sequence[Messages],
        sampling: SamplingConfig,
        *,
        indices: Sequence[int],
        model: str | None,
        chunk: int,
    ) -> Iterator[Completion]: ...


class _Malformed(Exception):
    """A 200 response we cannot use, but might on another try (no choices, no text, not JSON)."""


def async_client(client: Any, retry: RetryPolicy):
    """An ``AsyncOpenAI`` on ``client``'s endpoint (sync or async client) that retries HTTP faults per ``retry``."""
    from openai import AsyncOpenAI, OpenAI

    options: dict[str, Any] = {"max_retries": retry.attempts - 1, "timeout": retry.timeout_s}
    if isinstance(client, AsyncOpenAI):
        return client.with_options(**options)
    if isinstance(client, OpenAI):
        return AsyncOpenAI(base_url=str(client.base_url), api_key=client.api_key, **options)
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
    their tries, or at once on a request the endpoint refuses (bad model name, auth).
    """
    retry = retry or RetryPolicy()
    indices = list(range(len(prompts))) if indices is None else list(indices)
    assert len(indices) == len(prompts), f"{len(indices)} indices for {len(prompts)} prompts"
    if not prompts:
        return []
    return asyncio.run(_generate(client, prompts, sampling, model, indices, concurrency, retry, on_result))


def _is_refusal(exc: Exception) -> bool:
    """An HTTP error the openai client does not retry: the request itself is wrong, retrying cannot help."""
    import openai

    return isinstance(exc, openai.APIStatusError) and exc.status_code < 500 and exc.status_code not in (408, 409, 429)


async def _generate(client, prompts, sampling, model, indices, concurrency, retry, on_result) -> list[Completion]:
    import openai

    aclient = async_client(client, retry)
    semaphore = asyncio.Semaphore(max(1, concurrency))
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
                        frequency_penalty=sampling.frequency_penalty,
                        max_tokens=sampling.token_budget(index)[1],
                        seed=sampling.seed + index,
                        extra_body=sampling.vllm_extras(index) or None,
                    )
                    choices: Any = getattr(response, "choices", None)
                    text = choices[0].message.content if choices else None
                    if not isinstance(text, str):
                        raise _Malformed("malformed completion (no choices or no text)")
                except (_Malformed, openai.APIResponseValidationError, json.JSONDecodeError) as exc:
                    if attempt < retry.attempts:
                        logger.warning(
                            "record %d: %s (try %d/%d); asking again", index, _short(exc), attempt, retry.attempts
                        )
                        continue
                    failures.append(f"record {index}: {_short(exc)}")
                    raise _GaveUp from None
                except openai.APIError as exc:  # the client has already retried what it could
                    if isinstance(exc, openai.APIStatusError) and _is_refusal(exc):
                        raise GenerationError(
                            f"{aclient.base_url}: request for model {model!r} refused with HTTP {exc.status_code}: "
                            f"{_short(exc)} (check --endpoint, the model name and --api-key)"
                        ) from None
                    failures.append(f"record {index}: {_short(exc)}")
                    raise _GaveUp from None
                # An empty text is an answer, not a fault: a seeded request would give it
                # again on every retry. It is recorded and the length filter rejects it.
                usage = getattr(response, "usage", None)
                return Completion(
                    index, text.strip(), choices[0].finish_reason, getattr(usage, "completion_tokens", None)
                )
            raise AssertionError("unreachable: the last attempt returns or raises")

    tasks = [asyncio.ensure_future(one(k)) for k in range(len(prompts))]
    try:
        for fut in asyncio.as_completed(tasks):
            try:
                completion = await fut
            except _GaveUp:
                if len(failures) >= retry.max_failed_requests:
                    raise GenerationError(
                        f"{aclient.base_url}: gave up after {len(failures)} request(s) failed {retry.attempts} "
                        f"time(s) (last: {failures[-1]})"
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


class GenerationRate:
    """Descriptions per minute and tokens per second of the records a run writes.

    Timed from :meth:`start`, when generation starts (once vLLM is up: its start-up is not the
    generator's speed), not from the first record: in-process, records arrive a chunk at a time,
    so the time between the first and the last of a chunk is next to nothing. Only records
    written by this run count, never those already in the file.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.started: float | None = None
        self.records = 0
        self.tokens = 0

    def start(self) -> None:
        """Generation starts now (a second call changes nothing)."""
        if self.started is None:
            self.started = self._clock()

    def add(self, record: SyntheticDescription) -> None:
        self.start()
        self.records += 1
        self.tokens += record.completion_tokens or 0

    def text(self) -> str:
        """``"12.5 desc/min 210 tok/s"``; empty before anything was timed."""
        elapsed = self._clock() - self.started if self.started is not None else 0.0
        if elapsed <= 0 or not self.records:
            return ""
        return f"{60 * self.records / elapsed:.1f} desc/min {self.tokens / elapsed:.0f} tok/s"


def record_id(style: str, model: str, seed: int, index: int) -> str:
    return f"{style}-{model}-s{seed}-{index:06d}"


def record_index(record: SyntheticDescription) -> int:
    """The index ``i`` of a generated record (the end of its id); -1 for a record of another kind."""
    tail = record.id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def read_generation(path: str | Path) -> list[SyntheticDescription]:
    """The records of a generation file in record order (concurrent runs append in arrival order).

    Selecting the first ``n`` that pass a filter then picks the same records on every rerun.
    """
    return sorted(read_records(path), key=record_index)


def _check_same_run(
    existing: Sequence[SyntheticDescription],
    out: Path,
    style: str,
    model: str,
    generator: GeneratorInfo,
    sampling: SamplingConfig,
) -> None:
    """Every record in ``out`` must be one this run would write: same id, style, generator and sampling."""
    for rec in existing:
        index = record_index(rec)
        ours: dict[str, Any] = {
            "style": style,
            "generator": generator,
            "sampling": sampling.info(index),
            "id": record_id(style, model, sampling.seed, index),
        }
        theirs = {"style": rec.style, "generator": rec.generator, "sampling": rec.sampling, "id": rec.id}
        differ = [key for key in ours if ours[key] != theirs[key]]
        if differ:
            key = differ[0]
            if key == "sampling" and rec.sampling is not None:
                a, b = rec.sampling.model_dump(), ours["sampling"].model_dump()
                what = ", ".join(f"{k} {a[k]} (this run: {b[k]})" for k in a if a[k] != b[k])
            else:
                what = f"{key} {_brief(theirs[key])} (this run: {_brief(ours[key])})"
            raise GenerationError(
                f"{out}: holds records from a different run (record {rec.id}: {what}); "
                "resume with the same arguments or write to another --out"
            )


def _brief(value: Any) -> str:
    return value.tag() if isinstance(value, GeneratorInfo) else str(value)


def pending_indices(
    out: str | Path, n: int, *, style: str, model: str, sampling: SamplingConfig, generator: GeneratorInfo
) -> tuple[list[int], int]:
    """Indices in ``range(n)`` not yet in ``out``, and how many of ``range(n)`` are there."""
    out = Path(out)
    existing = read_records(out)
    _check_same_run(existing, out, style, model, generator, sampling)
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
    engine: Engine | None = None,
    concurrency: int = 16,
    retry: RetryPolicy | None = None,
    on_record: Callable[[SyntheticDescription], None] | None = None,
    resume_command: str | None = None,
    parent_ids: Callable[[int], tuple[str, ...]] | None = None,
) -> GenerationReport:
    """Completes ``out`` to exactly ``n`` records for this run, appending what is missing.

    ``prompts``: the prompt of record ``i`` (a callable, or a sequence of at least ``n``).
    Exactly one of ``client`` (an OpenAI client on a server; ``model`` is the served name)
    or ``engine`` (vLLM without a server; ``concurrency`` prompts per chunk). On a give-up
    the :class:`GenerationError` says how many records are safely written and, when
    given, ``resume_command``.
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
                text=spoken(c.text) if sampling.spoken else c.text,
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
                for c in engine.generate(batch, sampling, indices=missing, model=model, chunk=concurrency):
                    write(c)
            else:
                generate_batch(
                    client,
                    batch,
                    sampling,
                    model=model,
                    indices=missing,
                    concurrency=concurrency,
                    retry=retry,
                    on_result=write,
                )
        except GenerationError as exc:
            hint = f"; resume with: {resume_command}" if resume_command else "; rerun with the same arguments to resume"
            raise GenerationError(f"{exc} -- {report.total}/{n} records are safely in {out}{hint}") from None
    return report
