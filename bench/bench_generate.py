"""Synthetic-description throughput: the project's vLLM paths against Hugging Face ``generate``.

Same model, prompt, sampling (the project's default: temperature 0.9, min-p 0.05, a seed per
request) and lengths (every description exactly ``--tokens`` tokens: EOS ignored) for every
condition, in one run, so the ratios are fair even on a machine shared with other jobs:

- ``hf``: ``model.generate`` on one padded batch of all prompts (the baseline).
- ``vllm-eager``: a ``cookiebench serve`` server + OpenAI client (``generate_batch``), eager.
- ``vllm-compiled``: the same, with graph compilation (slow first start, cached after).
- ``vllm-lora``: eager server with a LoRA adapter (the shape ``augment.stages`` trains).
- ``vllm-merged``: eager server with that adapter folded into full weights (the benchmark's
  default on the CPU build: one server per generator).
- ``inproc-merged``: ``vllm.LLM`` without a server (``augment.engine.EngineProcess``: the
  engine in a worker process), merged weights, eager: what ``cookiebench augment generate
  --adapters`` does by default on the CPU build.
- ``inproc-compiled``: the same, with graph compilation (``--compiled``).
- ``hf-top-p``, ``inproc-top-p``: ``hf`` and ``inproc-merged`` with top-p 0.95 instead of
  min-p, the sampler the project used before: vLLM's CPU top-p sorts the vocabulary of every
  sequence at every step.
- ``jobs-server``, ``jobs-in-process``: the benchmark's own generation jobs for one fold
  group of the ``demo`` profile (prompt-only, sft and dpo x AD and HC; its sampling, record
  counts and three vLLM starts; random adapters stand in for trained ones) through
  ``augment.runner.run_jobs`` with a vLLM server per generator, or an in-process engine per
  generator. Timed end to end (start-ups included): what the demo's generation stage costs.

Start-up is timed apart from generation in the other conditions; rates count generation
only. Every vLLM runs in a child process, so none outlives its measurement.

Run::

    .venv/bin/python bench/bench_generate.py                       # all conditions, 64 x 100 tokens
    .venv/bin/python bench/bench_generate.py --only hf,vllm-eager --n 16 --tokens 50

Writes ``bench-results/generate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))

CONDITIONS = (
    "hf",
    "vllm-eager",
    "vllm-compiled",
    "vllm-lora",
    "vllm-merged",
    "inproc-merged",
    "inproc-compiled",
    "hf-top-p",
    "inproc-top-p",
    "jobs-server",
    "jobs-in-process",
)
TOP_P = {"min_p": 0.0, "top_p": 0.95}  # the -top-p conditions' sampling, instead of the default min-p
DEFAULT_PATH = "inproc-merged"
INPROC = ("inproc-merged", "inproc-compiled", "inproc-top-p")


def make_adapter(base: Path, out: Path, seed: int = 0) -> Path:
    """A LoRA of the shape ``augment.stages`` trains (its default config), with random B."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from augment.stages import default_lora_config

    if (out / "adapter_config.json").is_file():
        return out
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, local_files_only=True)
    peft_model = get_peft_model(model, default_lora_config())
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    peft_model.save_pretrained(out)
    return out


def bench_hf(base: Path, prompt, n: int, tokens: int, *, top_p: bool = False) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from augment.generation_config import SamplingConfig

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(base, local_files_only=True)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, local_files_only=True).eval()
    text = tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    inputs = tok([text] * n, return_tensors="pt", padding=True)
    startup = time.perf_counter() - t0
    torch.manual_seed(0)
    t0 = time.perf_counter()
    with torch.no_grad():
        sampling = SamplingConfig(**TOP_P) if top_p else SamplingConfig()
        out = model.generate(
            **inputs,
            do_sample=True,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            min_p=sampling.min_p or None,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            pad_token_id=tok.pad_token_id,
        )
    elapsed = time.perf_counter() - t0
    generated = int((out[:, inputs["input_ids"].shape[1] :] != tok.pad_token_id).sum())
    return {"startup_s": startup, "generate_s": elapsed, "tokens": generated, "descriptions": n, "batch": n}


def bench_server(config, model: str, prompt, n: int, tokens: int, concurrency: int) -> dict:
    from augment.generate import generate_batch
    from augment.generation_config import SamplingConfig
    from augment.serve import VLLMServer

    server = VLLMServer(config)
    t0 = time.perf_counter()
    with server:
        startup = time.perf_counter() - t0
        client = server.client()
        sampling = SamplingConfig(max_tokens=tokens, ignore_eos=True)
        generate_batch(client, [prompt] * 2, sampling, model=model)  # warm-up: first-request costs out of the rate
        t0 = time.perf_counter()
        results = generate_batch(client, [prompt] * n, sampling, model=model, concurrency=concurrency)
        elapsed = time.perf_counter() - t0
    return {
        "startup_s": startup,
        "generate_s": elapsed,
        "tokens": sum(r.completion_tokens or 0 for r in results),
        "descriptions": len(results),
        "concurrency": concurrency,
    }


def bench_inproc(config, prompt, n: int, tokens: int, *, top_p: bool = False) -> dict:
    from augment.engine import EngineProcess
    from augment.generation_config import SamplingConfig

    t0 = time.perf_counter()
    with EngineProcess(config) as engine:
        startup = time.perf_counter() - t0
        sampling = SamplingConfig(max_tokens=tokens, ignore_eos=True, **(TOP_P if top_p else {}))
        list(engine.generate([prompt] * 2, sampling))  # warm-up, as for the servers
        t0 = time.perf_counter()
        results = list(engine.generate([prompt] * n, sampling, chunk=n))
        elapsed = time.perf_counter() - t0
    return {
        "startup_s": startup,
        "generate_s": elapsed,
        "tokens": sum(r.completion_tokens or 0 for r in results),
        "descriptions": len(results),
    }


def bench_jobs(where: str, base: Path, work: Path, threads: int) -> dict:
    """The demo benchmark's generation jobs for one fold group, end to end through augment.runner."""
    from dataclasses import replace

    from augment import runner
    from augment.adapters import merge_adapter
    from augment.prompts import STYLES, adapter_unit
    from augment.synthesize import TrainingSet, generation_files
    from augment.synthetic import read_records
    from eval.components import generation_backend, sampling_config, synthesis_config
    from eval.config import GENERATED, load_config
    from eval.plan import plan

    config = load_config("demo")
    _, _, groups = plan(config)
    group = next(iter(groups.values()))
    units = dict.fromkeys(adapter_unit(style, config.generator.mode) for style in STYLES)  # the demo's adapters
    adapters = {
        stage: {unit: make_adapter(base, work / f"{stage}-{unit}", seed=10 * i + j + 1) for j, unit in enumerate(units)}
        for i, stage in enumerate(("sft", "dpo"))
    }
    for adapter in (a for by_unit in adapters.values() for a in by_unit.values()):
        merge_adapter(adapter, base_model=base)  # once, into the cache both paths read: not timed
    run_dir = work / where
    files = generation_files(
        TrainingSet(group.key, group.train, adapters),
        [c for c in config.conditions if c in GENERATED],
        run_dir / "synthetic",
        synthesis_config(config),
    )
    jobs = [f.job for f in files]
    backend = replace(generation_backend(config, run_dir), where=where, threads=threads)
    t0 = time.perf_counter()
    runner.run_jobs(jobs, backend, sampling_config(config))
    elapsed = time.perf_counter() - t0
    records = [r for job in jobs for r in read_records(job.out)]
    return {
        "startup_s": 0.0,
        "generate_s": elapsed,
        "tokens": sum(r.completion_tokens or 0 for r in records),
        "descriptions": len(records),
        "jobs": len(jobs),
        "vllm_starts": len(runner.batches(jobs, runner.placement(backend))),
        "note": "wall time of the whole stage, vLLM start-ups included; rate = tokens / wall",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="Descriptions per condition.")
    parser.add_argument("--tokens", type=int, default=100, help="Tokens per description (EOS ignored).")
    parser.add_argument("--concurrency", type=int, default=64, help="Requests in flight for server conditions.")
    parser.add_argument("--only", default=",".join(CONDITIONS), help=f"Comma-separated subset of {CONDITIONS}.")
    parser.add_argument("--out", default="bench-results/generate.json")
    # Called by `python -m bench` (argv there belongs to the runner): defaults.
    args = parser.parse_args(argv if argv is not None else (None if __name__ == "__main__" else []))
    from augment.prompts import task_messages

    wanted = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = set(wanted) - set(CONDITIONS)
    if unknown:
        parser.error(f"unknown condition(s) {sorted(unknown)}; choose from {CONDITIONS}")

    from augment.adapters import merge_adapter
    from augment.base_model import prepare_base_model
    from augment.serve import ServeConfig, VLLMConfig, is_cpu_build

    base = prepare_base_model()
    prompt = task_messages("ad", "separate")
    work = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    adapter = make_adapter(base, work / "ad") if set(wanted) & {"vllm-lora", "vllm-merged", *INPROC} else None
    threads = int(os.environ["OMP_NUM_THREADS"])
    common = dict(max_model_len=1024, omp_threads=threads, startup_timeout_s=900)

    results: dict[str, dict] = {}
    for cond in wanted:
        print(f"[bench] {cond} ...", flush=True)
        load_before = os.getloadavg()[0]
        if cond in ("hf", "hf-top-p"):
            r = bench_hf(base, prompt, args.n, args.tokens, top_p=cond == "hf-top-p")
        elif cond == "vllm-eager":
            r = bench_server(
                ServeConfig(port=0, enforce_eager=True, **common), "base", prompt, args.n, args.tokens, args.concurrency
            )
        elif cond == "vllm-compiled":
            r = bench_server(
                ServeConfig(port=0, enforce_eager=False, **common),
                "base",
                prompt,
                args.n,
                args.tokens,
                args.concurrency,
            )
        elif cond == "vllm-lora":
            r = bench_server(
                ServeConfig(port=0, enforce_eager=True, adapters={"ad": adapter}, **common),
                "ad",
                prompt,
                args.n,
                args.tokens,
                args.concurrency,
            )
        elif cond == "vllm-merged":
            t0 = time.perf_counter()
            merge_adapter(adapter, work / "ad-merged", base_model=base)
            merge_s = time.perf_counter() - t0
            r = bench_server(
                ServeConfig(port=0, enforce_eager=True, adapters={"ad": adapter}, merged=True, **common),
                "ad",
                prompt,
                args.n,
                args.tokens,
                args.concurrency,
            )
            r["merge_s"] = merge_s
        elif cond in INPROC:
            merged = merge_adapter(adapter, work / "ad-merged", base_model=base)
            r = bench_inproc(
                VLLMConfig(base_model=str(merged), enforce_eager=cond != "inproc-compiled", **common),
                prompt,
                args.n,
                args.tokens,
                top_p=cond == "inproc-top-p",
            )
        else:
            r = bench_jobs(cond.removeprefix("jobs-"), base, work, threads)
        # Other jobs share the machine: the 1-minute load average says how much.
        r["load_avg_1m"] = [load_before, os.getloadavg()[0]]
        r["tokens_per_s"] = r["tokens"] / r["generate_s"]
        r["descriptions_per_min"] = 60 * r["descriptions"] / r["generate_s"]
        results[cond] = r
        print(
            f"[bench] {cond}: {r['tokens_per_s']:.1f} tok/s, {r['descriptions_per_min']:.1f} desc/min, "
            f"start-up {r['startup_s']:.0f}s",
            flush=True,
        )

    for name, r in results.items():  # each against HF with the same sampler
        hf = results.get("hf-top-p" if name.endswith("top-p") else "hf")
        if hf and not name.startswith("jobs-"):
            r["speedup_vs_hf"] = r["tokens_per_s"] / hf["tokens_per_s"]
    if "vllm-lora" in results and "vllm-merged" in results:
        results["vllm-merged"]["speedup_vs_lora"] = (
            results["vllm-merged"]["tokens_per_s"] / results["vllm-lora"]["tokens_per_s"]
        )
    if "vllm-merged" in results and "inproc-merged" in results:
        results["inproc-merged"]["speedup_vs_merged_server"] = (
            results["inproc-merged"]["tokens_per_s"] / results["vllm-merged"]["tokens_per_s"]
        )
    if "jobs-server" in results and "jobs-in-process" in results:
        jobs = results["jobs-in-process"]
        jobs["wall_ratio_server_over_in_process"] = results["jobs-server"]["generate_s"] / jobs["generate_s"]
        jobs["speedup_vs_server"] = jobs["tokens_per_s"] / results["jobs-server"]["tokens_per_s"]
    payload = {
        "benchmark": "generate",
        "n": args.n,
        "tokens_per_description": args.tokens,
        "sampling": {
            "default": "temperature 0.9, min_p 0.05",
            "-top-p conditions": "temperature 0.9, top_p 0.95",
            "ignore_eos": True,
            "jobs- conditions": "the demo profile's (max_tokens 128, stops at EOS)",
        },
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "omp_threads": threads,
            "cpu_build": is_cpu_build(),
            "vllm_cpu_omp_threads_bind": ServeConfig().cpu_bind,
            "platform": platform.platform(),
            "note": "shared with other jobs: compare ratios within one run",
        },
        "default_path": f"{DEFAULT_PATH} (cookiebench augment generate --adapters on the CPU build: in-process vLLM, "
        "merged weights, eager)",
        "default_path_speedup_vs_hf": results.get(DEFAULT_PATH, {}).get("speedup_vs_hf"),
        "results": results,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(
        json.dumps(
            {k: {m: round(v, 2) for m, v in r.items() if isinstance(v, float)} for k, r in results.items()}, indent=1
        )
    )


if __name__ == "__main__":
    main()
