"""Batch generation: retries and give-up on a fault-injecting fake, resume on a real vLLM server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from openai import OpenAI

from augment.generate import (
    GenerationError,
    RetryPolicy,
    SamplingConfig,
    generate_batch,
    record_id,
    run_generation,
)
from augment.synthetic import GeneratorInfo, read_records

from .fake_endpoint import FakeEndpoint

PROMPT = [{"role": "user", "content": "Describe the Cookie Theft picture as a patient would."}]
FAST = RetryPolicy(attempts=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=5)
GEN = GeneratorInfo(kind="lora", base_model="smollm2", adapter="ad")


def client_for(url: str) -> OpenAI:
    return OpenAI(base_url=url, api_key="EMPTY", max_retries=0)


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


def test_retries_5xx_garbage_empty_and_timeouts_then_succeeds(tmp_path):
    faults = {1: "500", 2: "garbage", 3: "empty", 4: "timeout", 5: "503"}
    with FakeEndpoint(lambda n, body: faults.get(n, "ok"), hang_s=2.0) as fake:
        retry = RetryPolicy(attempts=6, backoff_s=0.01, max_backoff_s=0.05, timeout_s=0.5)
        report = run(fake.url, tmp_path / "s.jsonl", 3, retry=retry, concurrency=1)
    assert report.written == 3
    assert_exact(tmp_path / "s.jsonl", 3)
    # each record's seed is recorded and was the one sent
    records = {r.id: r for r in read_records(tmp_path / "s.jsonl")}
    assert records[record_id("ad", "ad", 7, 2)].sampling.seed == 9
    assert {b["seed"] for b in fake.requests} == {7, 8, 9}
    # min-p (vLLM's own field) travels in the body; top-p is off by default
    assert all(b["min_p"] == 0.05 and b["top_p"] == 1.0 for b in fake.requests)
    assert records[record_id("ad", "ad", 7, 0)].sampling.min_p == 0.05


def test_gives_up_with_resume_command_then_resumes_losslessly(tmp_path):
    out = tmp_path / "s.jsonl"
    with FakeEndpoint(lambda n, body: "ok" if n <= 3 else "500") as fake:
        with pytest.raises(GenerationError) as err:
            run(fake.url, out, 6, concurrency=1, resume_command="cookiebench augment generate --n 6 --out s.jsonl")
    message = str(err.value)
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


def test_rerun_with_other_sampling_is_refused(tmp_path):
    out = tmp_path / "s.jsonl"
    with FakeEndpoint(lambda n, body: "ok") as fake:
        run(fake.url, out, 2)
        with pytest.raises(GenerationError, match="different run"):
            run(fake.url, out, 2, sampling=SamplingConfig(seed=7, temperature=0.3))


# -- real vLLM --------------------------------------------------------------------------------


@pytest.mark.slow
def test_generate_batch_by_adapter_name(vllm_server):
    client = vllm_server.client()
    sampling = SamplingConfig(temperature=0.0, max_tokens=24, seed=0)
    outs = {name: generate_batch(client, [PROMPT], sampling, model=name)[0].text for name in ("base", "ad", "hc")}
    assert all(outs.values())
    # the adapters are real: greedy outputs differ from the base model's and from each other
    assert len(set(outs.values())) == 3, outs


@pytest.mark.slow
def test_server_killed_mid_batch_then_restart_and_rerun_gives_exactly_n(vllm_server, tmp_path):
    import psutil

    out, n = tmp_path / "synth.jsonl", 12
    sampling = SamplingConfig(max_tokens=48, seed=3)
    family = [vllm_server.process.pid] + [c.pid for c in psutil.Process(vllm_server.process.pid).children(recursive=True)]

    def crash_after_three(record):
        if len(read_records(out)) == 3 and vllm_server.alive():
            os.killpg(vllm_server.process.pid, signal.SIGKILL)  # a crash, not a clean stop

    kw = dict(n=n, style="ad", model="ad", generator=GEN, sampling=sampling, concurrency=4,
              retry=RetryPolicy(attempts=2, backoff_s=0.2, timeout_s=60))
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


# -- the command line ------------------------------------------------------------------------------


def _cli():
    import typer

    from augment.serve_cli import generate_command
    from eval.cli import _OneLineErrors

    app = typer.Typer(cls=_OneLineErrors)
    app.command("generate")(generate_command)
    app.command("noop")(lambda: None)  # two commands keep "generate" a subcommand
    return app


def test_cli_generate_against_an_endpoint_then_give_up_names_the_resume_command(tmp_path):
    from typer.testing import CliRunner

    out = tmp_path / "synth.jsonl"
    args = ["generate", "--style", "hc", "--n", "5", "--out", str(out), "--retries", "2", "--concurrency", "1"]
    with FakeEndpoint(lambda n, body: "ok" if n <= 2 else "500") as fake:
        result = CliRunner().invoke(_cli(), [*args, "--endpoint", fake.url])
    assert result.exit_code == 1, result.output
    assert "gave up" in result.output and "2/5 records" in result.output and "resume with: cookiebench augment generate" in result.output
    assert "Traceback" not in result.output
    with FakeEndpoint(lambda n, body: "ok") as fake:
        result = CliRunner().invoke(_cli(), [*args, "--endpoint", fake.url])
        assert [b["model"] for b in fake.requests] == ["hc"] * 3
        assert fake.requests[0]["messages"][-1]["role"] == "user"
    assert result.exit_code == 0, result.output
    records = read_records(out)
    assert len(records) == len({r.id for r in records}) == 5 and {r.style for r in records} == {"hc"}


@pytest.mark.slow
def test_cli_in_process_generation_is_the_cpu_default_and_resumes_to_exactly_n(adapters_dir, tmp_path):
    """vllm.LLM in a child process (its engine settings stay out of this one), adapter merged in."""
    from augment.serve import is_cpu_build

    out = tmp_path / "synth.jsonl"

    def generate(n: int) -> subprocess.CompletedProcess:
        args = ["augment", "generate", "--adapters", str(adapters_dir), "--style", "ad", "--n", str(n),
                "--max-tokens", "24", "--out", str(out)]
        if not is_cpu_build():
            args.append("--in-process")
        cookiebench = Path(sys.executable).with_name("cookiebench")
        return subprocess.run([str(cookiebench), *args], capture_output=True, text=True, timeout=600)

    first = generate(3)
    assert first.returncode == 0, first.stderr[-3000:]
    before = out.read_text()
    records = read_records(out)
    assert len(records) == 3 and all(r.text for r in records)
    assert {r.generator.kind for r in records} == {"merged"} and {r.generator.adapter for r in records} == {"ad"}

    second = generate(5)
    assert second.returncode == 0, second.stderr[-3000:]
    said = " ".join(second.stderr.split())  # rich wraps long lines
    assert "5/5 records" in said and "(2 new, 3 already there)" in said
    assert out.read_text().startswith(before)
    ids = [r.id for r in read_records(out)]
    assert sorted(ids) == sorted(record_id("ad", "ad", 0, i) for i in range(5))
