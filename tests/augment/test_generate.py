"""Batch generation: retries and give-up on a fault-injecting fake, resume on real vLLM (server and engine)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from openai import OpenAI
from typer.testing import CliRunner

from augment.adapters import find_adapters
from augment.engine import EngineProcess
from augment.generate import (
    Completion,
    GenerationError,
    generate_batch,
    read_generation,
    record_id,
    record_index,
    run_generation,
)
from augment.generation_config import RetryPolicy, SamplingConfig
from augment.serve import VLLMConfig, is_cpu_build
from augment.synthetic import GeneratorInfo, read_records, write_records
from eval.cli import app

from .fake_endpoint import FakeEndpoint
from .processes import living

PROMPT = [{"role": "user", "content": "Describe the Cookie Theft picture as a patient would."}]
SHORT = [{"role": "user", "content": "Answer with one word: is the sky blue?"}]  # short answers stop on their own
FAST = RetryPolicy(attempts=3, timeout_s=5)
GEN = GeneratorInfo(kind="lora", base_model="smollm2", adapter="ad")


def client_for(url: str) -> OpenAI:
    return OpenAI(base_url=url, api_key="EMPTY")


def run(url, out, n, **kw):
    kw.setdefault("retry", FAST)
    kw.setdefault("sampling", SamplingConfig(seed=7))
    return run_generation(out, [PROMPT] * n, n=n, style="ad", model="ad", generator=GEN, client=client_for(url), **kw)


def assert_exact(out, n, seed=7):
    """The file parses line by line and holds exactly records 0..n-1, once each."""
    lines = out.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    ids = [r.id for r in read_records(out)]
    assert sorted(ids) == sorted(record_id("ad", "ad", seed, i) for i in range(n))
    assert len(ids) == len(set(ids)) == n


@pytest.mark.slow
def test_http_faults_are_retried_by_the_client_malformed_completions_by_us(tmp_path):
    # record 0 meets every fault in turn: the openai client retries the 500, the timeout, the 503
    # and the dropped connection; a body that is not JSON or has no choices comes back to us
    faults = {1: "500", 2: "garbage", 3: "empty", 4: "timeout", 5: "503", 6: "drop"}
    with FakeEndpoint(lambda n, body: faults.get(n, "ok"), hang_s=6.0) as fake:
        retry = RetryPolicy(attempts=6, timeout_s=2.0)  # well above an answer's time on a loaded machine
        report = run(fake.url, tmp_path / "s.jsonl", 3, retry=retry, concurrency=1)
        assert len(fake.requests) == len(faults) + 3  # each fault cost one request, no more
    assert report.written == 3
    assert_exact(tmp_path / "s.jsonl", 3)
    # each record's seed is recorded and was the one sent
    records = {r.id: r for r in read_records(tmp_path / "s.jsonl")}
    assert records[record_id("ad", "ad", 7, 2)].sampling.seed == 9
    assert {b["seed"] for b in fake.requests} == {7, 8, 9}
    # min-p (vLLM's own field) travels in the body; top-p is off by default
    assert all(b["min_p"] == 0.05 and b["top_p"] == 1.0 and b["frequency_penalty"] == 0.3 for b in fake.requests)
    assert records[record_id("ad", "ad", 7, 0)].sampling.min_p == 0.05
    assert records[record_id("ad", "ad", 7, 0)].sampling.frequency_penalty == 0.3


def test_a_malformed_completion_is_asked_for_a_bounded_number_of_times(tmp_path):
    with FakeEndpoint(lambda n, body: "empty") as fake:
        with pytest.raises(GenerationError, match="malformed completion") as err:
            run(fake.url, tmp_path / "s.jsonl", 2, concurrency=1)
        assert len(fake.requests) == FAST.attempts
    assert "0/2 records are safely in" in str(err.value)


def test_gives_up_with_resume_command_then_resumes_losslessly(tmp_path):
    out = tmp_path / "s.jsonl"
    with FakeEndpoint(lambda n, body: "ok" if n <= 3 else "500") as fake:
        with pytest.raises(GenerationError) as err:
            run(fake.url, out, 6, concurrency=1, resume_command="cookiebench augment generate --n 6 --out s.jsonl")
        # the 4th record's tries are the openai client's own (1 + attempts - 1), not tries x retries
        assert len(fake.requests) == 3 + FAST.attempts
    message = str(err.value)
    assert "\n" not in message
    assert "gave up" in message and "3/6 records" in message
    assert "resume with: cookiebench augment generate --n 6 --out s.jsonl" in message
    assert len(read_records(out)) == 3
    first = out.read_text()

    with FakeEndpoint(lambda n, body: "ok") as fake:
        report = run(fake.url, out, 6)
        assert len(fake.requests) == 3  # only the missing ones were asked for
    assert report.already_there == 3 and report.written == 3
    assert out.read_text().startswith(first)  # nothing rewritten
    assert_exact(out, 6)


def test_failure_budget_lets_some_requests_fail_before_the_run_stops(tmp_path):
    out = tmp_path / "s.jsonl"
    failing = {8, 10}  # the seeds of records 1 and 3
    with FakeEndpoint(lambda n, body: "500" if body["seed"] in failing else "ok") as fake:
        report = run(fake.url, out, 5, concurrency=1, retry=RetryPolicy(attempts=1, max_failed_requests=3))
    assert report.written == 3 and {r.sampling.seed for r in read_records(out)} == {7, 9, 11}
    with FakeEndpoint(lambda n, body: "500" if body["seed"] in failing else "ok") as fake:
        with pytest.raises(GenerationError, match="gave up after 2 request"):
            run(fake.url, out, 5, concurrency=1, retry=RetryPolicy(attempts=1, max_failed_requests=2))


def test_blank_completion_is_recorded_once_and_fails_the_length_filter(tmp_path):
    """A seeded request answers the same on every retry: an empty text is a result, not a fault."""
    from augment.filters import FilterConfig, length_verdict

    out = tmp_path / "s.jsonl"
    with FakeEndpoint(lambda n, body: "blank" if body["seed"] == 8 else "ok") as fake:
        report = run(fake.url, out, 3, concurrency=1)
        assert len(fake.requests) == 3  # no retries
    assert report.written == 3
    assert_exact(out, 3)
    blank = next(r for r in read_records(out) if r.sampling.seed == 8)
    assert blank.text == "" and not length_verdict(blank.text, FilterConfig()).passed


def test_non_retryable_error_stops_at_once(tmp_path):
    with FakeEndpoint(lambda n, body: "404") as fake:
        with pytest.raises(GenerationError, match="HTTP 404"):
            run(fake.url, tmp_path / "s.jsonl", 4, concurrency=1)
        assert len(fake.requests) == 1


def test_torn_last_line_is_repaired_on_resume(tmp_path):
    out = tmp_path / "s.jsonl"
    with FakeEndpoint(lambda n, body: "ok") as fake:
        run(fake.url, out, 2)
        with open(out, "ab") as fh:  # a write cut short by a crash
            fh.write(b'{"id": "ad-ad-s7-000002", "sty')
        run(fake.url, out, 4)
    assert_exact(out, 4)


def test_interrupt_leaves_valid_file_and_rerun_completes(tmp_path):
    out = tmp_path / "s.jsonl"
    seen = []

    def interrupt_after_two(record):
        seen.append(record.id)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with FakeEndpoint(lambda n, body: "ok") as fake:
        with pytest.raises(KeyboardInterrupt):
            run(fake.url, out, 8, concurrency=2, on_record=interrupt_after_two)
        assert [r.id for r in read_records(out)] == seen
        run(fake.url, out, 8)
    assert_exact(out, 8)


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 8},
        {"temperature": 0.3},
        {"min_p": 0.1},
        {"max_tokens": 99},
        {"ignore_eos": True},
        {"frequency_penalty": 0.0},
        {"min_tokens": 4},
        {"spoken": True},
        {"length_spread": 1.0, "lengths": (10, 40)},
    ],
)
@pytest.mark.slow
def test_resume_with_any_other_sampling_setting_is_refused(tmp_path, change):
    out = tmp_path / "s.jsonl"
    with FakeEndpoint(lambda n, body: "ok") as fake:
        run(fake.url, out, 2)
        with pytest.raises(GenerationError, match=f"different run .*{next(iter(change))}"):
            run(fake.url, out, 3, sampling=SamplingConfig(**{"seed": 7, **change}))
        assert len(fake.requests) == 2
    assert_exact(out, 2)


def test_length_spread_sends_and_records_each_records_own_token_budget(tmp_path):
    """Real lengths of 30 and 150 words (mean 90): a budget of a third or five thirds of 96 / 120 tokens."""
    out = tmp_path / "s.jsonl"
    sampling = SamplingConfig(seed=7, min_tokens=96, max_tokens=120, length_spread=1.0, lengths=(30, 150))
    with FakeEndpoint(lambda n, body: "ok") as fake:
        run(fake.url, out, 12, sampling=sampling)
    sent = {(b["seed"] - 7): (b["min_tokens"], b["max_tokens"]) for b in fake.requests}
    assert sent == {i: sampling.token_budget(i) for i in range(12)}
    assert set(sent.values()) == {(32, 40), (160, 200)}  # both lengths drawn, the mean budget kept
    records = {record_index(r): r.sampling for r in read_records(out)}
    assert all((records[i].min_tokens, records[i].max_tokens) == sent[i] and records[i].length_spread for i in sent)
    grouped = dataclasses.replace(sampling, candidates=3)  # best of 3: a description's candidates, one length
    assert all(len({grouped.token_budget(3 * d + k) for k in range(3)}) == 1 for d in range(8))
    assert len({grouped.token_budget(3 * d) for d in range(8)}) == 2
    with pytest.raises(ValueError, match="length_spread needs the real lengths"):
        SamplingConfig(length_spread=1.0).token_budget(0)


def test_records_are_read_back_in_record_order_whatever_the_arrival_order(tmp_path):
    out = tmp_path / "s.jsonl"
    with FakeEndpoint(lambda n, body: "slow" if body["seed"] == 7 else "ok", hang_s=1.0) as fake:
        run(fake.url, out, 4, concurrency=4)
    arrival = [r.id for r in read_records(out)]
    assert arrival[-1] == record_id("ad", "ad", 7, 0)  # record 0 was held back: it arrived last
    assert [r.id for r in read_generation(out)] == [record_id("ad", "ad", 7, i) for i in range(4)]


# -- real vLLM --------------------------------------------------------------------------------


@pytest.mark.slow
def test_generate_batch_by_adapter_name(vllm_server):
    client = vllm_server.client()
    sampling = SamplingConfig(temperature=0.0, max_tokens=24, seed=0)
    outs = {name: generate_batch(client, [PROMPT], sampling, model=name)[0].text for name in ("base", "ad", "hc")}
    assert all(outs.values())
    # the adapters are real: greedy outputs differ from the base model's and from each other
    assert len(set(outs.values())) == 3, outs


def _floored(sampling: SamplingConfig, complete) -> tuple[Completion, Completion]:
    """A greedy completion that stops on its own, and the same with min_tokens 16 past where it stopped."""
    free = complete(sampling)
    assert free.finish_reason == "stop" and free.completion_tokens + 16 <= sampling.max_tokens, free
    return free, complete(dataclasses.replace(sampling, min_tokens=free.completion_tokens + 16))


@pytest.mark.slow
def test_min_tokens_holds_back_the_end_of_text_on_real_vllm(vllm_server):
    client = vllm_server.client()
    free, floored = _floored(
        SamplingConfig(temperature=0.0, max_tokens=128, seed=0),
        lambda s: generate_batch(client, [SHORT], s, model="base")[0],
    )
    assert floored.completion_tokens >= free.completion_tokens + 16, (free, floored)
    assert floored.text.startswith(free.text.rstrip(".!")), (free, floored)  # greedy: the same start, then more
    with pytest.raises(ValueError, match="min_tokens"):
        SamplingConfig(max_tokens=16, min_tokens=17)


@pytest.mark.slow
def test_server_killed_mid_batch_then_restart_and_rerun_gives_exactly_n(vllm_server, tmp_path):
    out, n = tmp_path / "synth.jsonl", 12
    sampling = SamplingConfig(max_tokens=48, seed=3)
    family = [vllm_server.process.pid] + [
        c.pid for c in psutil.Process(vllm_server.process.pid).children(recursive=True)
    ]

    def crash_after_three(record):
        if len(read_records(out)) == 3 and vllm_server.alive():
            os.killpg(vllm_server.process.pid, signal.SIGKILL)  # a crash, not a clean stop

    kw = dict(
        n=n,
        style="ad",
        model="ad",
        generator=GEN,
        sampling=sampling,
        concurrency=4,
        retry=RetryPolicy(attempts=2, timeout_s=60),
    )
    with pytest.raises(GenerationError, match="resume"):
        run_generation(out, [PROMPT] * n, client=vllm_server.client(), on_record=crash_after_three, **kw)
    partial = read_records(out)
    assert 3 <= len(partial) < n
    vllm_server.stop()
    assert not [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]

    vllm_server.start()
    report = run_generation(out, [PROMPT] * n, client=vllm_server.client(), **kw)
    assert report.already_there == len(partial) and report.total == n
    records = read_records(out)
    assert len(records) == len({r.id for r in records}) == n
    assert {r.id for r in records} == {record_id("ad", "ad", 3, i) for i in range(n)}
    assert all(r.text and r.sampling.seed == 3 + int(r.id.rsplit("-", 1)[1]) for r in records)
    assert [r.id for r in records[: len(partial)]] == [r.id for r in partial]  # none lost or rewritten


@pytest.mark.slow
def test_engine_process_serves_adapters_by_name_in_chunks_and_stops_clean(adapters_dir, tmp_path):
    """vllm.LLM (public API) in a worker process: base and LoRA adapters by name, seeded, a chunk at a time."""
    config = VLLMConfig(
        adapters=find_adapters(adapters_dir),
        enforce_eager=True,
        max_model_len=1024,
        omp_threads=1,
        log_path=tmp_path / "engine.log",
    )
    greedy = SamplingConfig(temperature=0.0, max_tokens=24, seed=0)
    sampled = SamplingConfig(max_tokens=16, seed=5)
    with EngineProcess(config) as engine:
        pid = engine.process.pid
        family = [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
        outs = {
            name: next(engine.generate([PROMPT], greedy, model=name, chunk=1)).text for name in ("base", "ad", "hc")
        }
        chunked = list(engine.generate([PROMPT] * 5, sampled, indices=[10, 11, 12, 13, 14], model="ad", chunk=2))
        again = list(engine.generate([PROMPT] * 2, sampled, indices=[12, 13], model="ad", chunk=8))
        free, floored = _floored(
            SamplingConfig(temperature=0.0, max_tokens=128, seed=0), lambda s: next(engine.generate([SHORT], s))
        )
        spread = SamplingConfig(max_tokens=24, ignore_eos=True, length_spread=1.0, lengths=(10, 40), seed=0)
        budgets = [c.completion_tokens for c in engine.generate([PROMPT] * 6, spread, model="ad")]
    assert all(outs.values()) and len(set(outs.values())) == 3, outs  # the adapters are really applied
    assert [c.index for c in chunked] == [10, 11, 12, 13, 14]
    assert all(c.text and c.completion_tokens for c in chunked)
    # record i is seeded seed + i: the same record comes out the same in another chunk
    assert [c.text for c in again] == [c.text for c in chunked[2:4]]
    assert floored.completion_tokens >= free.completion_tokens + 16, (free, floored)  # min_tokens reaches the engine
    assert budgets == [spread.token_budget(i)[1] for i in range(6)] and len(set(budgets)) == 2  # and each record's own
    assert not [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    # this process's environment was never touched: the engine's settings went to the child only
    assert "VLLM_ENABLE_V1_MULTIPROCESSING" not in os.environ


# -- the command line ------------------------------------------------------------------------------


def test_cli_generate_against_an_endpoint_then_give_up_names_the_resume_command(tmp_path):
    out = tmp_path / "synth.jsonl"
    args = [
        "augment",
        "generate",
        "--style",
        "hc",
        "--n",
        "5",
        "--out",
        str(out),
        "--retries",
        "2",
        "--concurrency",
        "1",
        "--no-merged",
    ]
    with FakeEndpoint(lambda n, body: "ok" if n <= 2 else "500") as fake:
        result = CliRunner().invoke(app, [*args, "--endpoint", fake.url], prog_name="cookiebench")
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert "gave up" in said and "2/5 records" in said
    # the resume command is the command as given (from Click's context), options in declaration order
    resume = said.split("resume with: ", 1)[1]
    assert resume.startswith(
        f"cookiebench augment generate --style hc --n 5 --out {out} --endpoint {fake.url} "
        "--no-merged --concurrency 1 --retries 2"
    ), resume
    assert "Traceback" not in result.output
    with FakeEndpoint(lambda n, body: "ok") as fake:
        result = CliRunner().invoke(app, [*args, "--endpoint", fake.url], prog_name="cookiebench")
        assert [b["model"] for b in fake.requests] == ["hc"] * 3
        assert fake.requests[0]["messages"][-1]["role"] == "user"
    assert result.exit_code == 0, result.output
    records = read_records(out)
    assert len(records) == len({r.id for r in records}) == 5 and {r.style for r in records} == {"hc"}


def test_records_carry_the_stage_of_the_adapter_and_a_file_begun_without_it_resumes(tmp_path):
    """The stage comes from the adapter's metadata; a file an earlier version began (no stage in its
    records) is completed as it was begun, not refused as another run's."""
    from augment import runner
    from augment.adapters import ADAPTER_META

    adapter = tmp_path / "ad"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"r": 8}')
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    (adapter / ADAPTER_META).write_text(json.dumps({"stage": "dpo", "mode": "separate"}))
    sampling = SamplingConfig(seed=0, max_tokens=16)
    with FakeEndpoint(lambda n, body: "ok") as fake:
        backend = runner.Backend(endpoint=fake.url, retry=FAST)
        new = runner.adapter_job(tmp_path / "new.jsonl", 2, "ad", "ad", adapter, mode="separate")
        runner.run_jobs([new], backend, sampling)
        begun = [
            r.model_copy(update={"generator": r.generator.model_copy(update={"stage": None})})
            for r in read_records(new.out)
        ]
        old = runner.adapter_job(write_records(tmp_path / "old.jsonl", begun), 3, "ad", "ad", adapter, mode="separate")
        (report,) = runner.run_jobs([old], backend, sampling)
    assert {r.generator.stage for r in read_records(new.out)} == {"dpo"}
    assert (report.already_there, report.written) == (2, 1)
    assert [r.generator.stage for r in read_records(old.out)] == [None] * 3


def test_length_spread_draws_from_the_adapters_card_and_says_so_when_a_model_has_none(tmp_path):
    """An adapter's card holds its training transcripts' lengths (30 and 150 words here: a budget of a
    third or five thirds of 90 tokens); an endpoint's own model has none, which is a one-line error."""
    from augment import runner
    from augment.adapters import ADAPTER_META

    adapter = tmp_path / "ad"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"r": 8}')
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    card = {"design": {"instruction": "fixed", "scene": "prose", "length": False}, "lengths": {"ad": [30, 150]}}
    (adapter / ADAPTER_META).write_text(json.dumps({"stage": "dpo", "mode": "separate", "prompt": card}))
    with FakeEndpoint(lambda n, body: "ok") as fake:
        job = runner.adapter_job(tmp_path / "spread.jsonl", 12, "ad", "ad", adapter, mode="separate")
        sampling = SamplingConfig(seed=0, max_tokens=90, length_spread=1.0)
        runner.run_jobs([job], runner.Backend(endpoint=fake.url, retry=FAST), sampling)
        assert {b["max_tokens"] for b in fake.requests} == {30, 150}
        out = tmp_path / "x.jsonl"
        args = ["augment", "generate", "--style", "ad", "--n", "2", "--out", str(out), "--length-spread", "0.5"]
        result = CliRunner().invoke(app, [*args, "--endpoint", fake.url], prog_name="cookiebench")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "length_spread needs the real lengths of the AD training transcripts" in " ".join(result.output.split())


def test_cli_rejects_in_process_with_an_endpoint_and_a_local_model_name_for_prompt_only(tmp_path):
    common = ["augment", "generate", "--style", "ad", "--n", "2", "--out", str(tmp_path / "x.jsonl")]

    def error(*args: str) -> str:
        result = CliRunner().invoke(app, [*common, *args])
        assert result.exit_code == 2, result.output
        return " ".join(result.output.replace("│", " ").split())  # rich draws the error in a box

    assert "do not take --endpoint" in error("--endpoint", "http://127.0.0.1:9/v1", "--in-process")
    assert "the local base model is 'base'" in error("--prompt-only", "--model", "mine")
    assert "give --endpoint URL, --adapters DIR, or --prompt-only" in error()


def _cookiebench(*args: str, **kwargs) -> subprocess.Popen:
    """`cookiebench ARGS` in a child (vLLM's settings stay out of this process), in a session of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "eval.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def _sigkill_and_wait_for_the_family(proc: subprocess.Popen, deadline_s: float = 60.0) -> list[int]:
    """SIGKILLs ``proc`` alone (as the OOM killer would) and returns its descendants still alive at the deadline."""
    family = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    assert family, "nothing was started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    stop = time.monotonic() + deadline_s
    while living(family) and time.monotonic() < stop:
        time.sleep(0.2)
    left = living(family)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.slow
def test_cli_in_process_generation_killed_with_sigkill_leaves_no_engine_and_resumes_to_exactly_n(
    adapters_dir, tmp_path
):
    """vllm.LLM in a worker process, adapter merged in (the CPU default): SIGKILLed mid-run it leaves
    no engine behind, and a rerun completes the file without losing or repeating a record."""
    out = tmp_path / "synth.jsonl"

    def generate(n: int) -> subprocess.Popen:
        args = [
            "augment",
            "generate",
            "--adapters",
            str(adapters_dir),
            "--style",
            "ad",
            "--n",
            str(n),
            "--max-tokens",
            "24",
            "--concurrency",
            "2",
            "--out",
            str(out),
            "--threads",
            "1",
        ]
        return _cookiebench(*args, *([] if is_cpu_build() else ["--in-process", "--merged"]))

    proc = generate(400)
    try:
        deadline = time.monotonic() + 600
        while not read_records(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert read_records(out), "no record within 10 minutes"
        assert _sigkill_and_wait_for_the_family(proc) == []
    finally:
        if proc.poll() is None:
            proc.kill()
    written = read_generation(out)  # a torn last line is skipped here and repaired by the rerun
    assert 0 < len(written) < 400  # it really was killed mid-generation
    records = read_records(out)
    assert {r.generator.kind for r in records} == {"merged"} and {r.generator.adapter for r in records} == {"ad"}

    n = max(record_index(r) for r in written) + 3
    there = sum(1 for r in written if record_index(r) < n)
    proc = generate(n)
    stdout, stderr = proc.communicate(timeout=600)
    said = " ".join((stdout + stderr).split())  # logs on stdout, progress on stderr; rich wraps long lines
    assert proc.returncode == 0, said[-3000:]
    assert "vLLM engine" in said and "vLLM server" not in said  # the in-process engine ran, not a server
    assert f"{n}/{n} records" in said and f"({n - there} new, {there} already there)" in said
    ids = [r.id for r in read_records(out) if record_index(r) < n]
    assert sorted(ids) == sorted(record_id("ad", "ad", 0, i) for i in range(n))


@pytest.mark.slow
def test_serve_killed_with_sigkill_leaves_no_server_process_and_frees_the_port(tmp_path):
    import urllib.request

    from augment.serve import free_port

    port = free_port()
    proc = _cookiebench(
        "serve",
        "--port",
        str(port),
        "--eager",
        "--threads",
        "1",
        "--max-model-len",
        "1024",
        "--log",
        str(tmp_path / "server.log"),
    )
    try:
        deadline = time.monotonic() + 600
        healthy = False
        while not healthy and proc.poll() is None and time.monotonic() < deadline:
            try:
                healthy = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200
            except OSError:
                time.sleep(1)
        assert healthy, (tmp_path / "server.log").read_text()[-3000:]
        assert _sigkill_and_wait_for_the_family(proc) == []
    finally:
        if proc.poll() is None:
            proc.kill()
    # Nothing listens on the port any more. (Not a bind() probe: a socket of some other test's client that
    # happens to have this ephemeral port number would fail it without any server being left.)
    # The kernel may take a moment after the processes are gone to drop their sockets.
    deadline = time.monotonic() + 30
    while True:
        on_port = [c for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port]
        listening = [c for c in on_port if c.status == psutil.CONN_LISTEN]
        if not listening or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not listening, on_port


def test_the_rate_counts_from_when_generation_starts_not_from_a_chunks_first_record():
    """In-process, a chunk of records arrives at once: 12 records in one burst after 28 s of generation are
    25.7 a minute, not the ~150,000 that timing from the first record of the burst gave."""
    from augment.generate import GenerationRate
    from augment.synthetic import SyntheticDescription

    now = [100.0]
    rate = GenerationRate(clock=lambda: now[0])
    assert rate.text() == ""
    rate.start()  # vLLM is up, the job starts
    now[0] += 28.0
    record = SyntheticDescription(
        id="ad-ad-s0-000000", style="ad", text="the boy", generator=GEN, completion_tokens=100
    )
    for _ in range(12):
        rate.add(record)
    assert rate.text() == "25.7 desc/min 43 tok/s"
    rate.start()  # a later job of the same run changes nothing
    assert rate.text() == "25.7 desc/min 43 tok/s"
