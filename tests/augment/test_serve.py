"""Serving: the command we build, adapter discovery and identity, merging, start-up failure, the real server."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from augment.adapters import (
    ADAPTER_META,
    MERGED_KEEP,
    AdapterError,
    adapter_hash,
    cached_meta,
    find_adapters,
    merge_adapter,
    read_meta,
)
from augment.engine import EngineProcess
from augment.serve import ServeConfig, ServeError, VLLMConfig, VLLMServer, is_cpu_build


def _flag(cmd: list[str], name: str) -> list[str]:
    i = cmd.index(name)
    out = []
    for item in cmd[i + 1 :]:
        if item.startswith("--"):
            break
        out.append(item)
    return out


@pytest.mark.slow
def test_command_binds_loopback_serves_named_adapters_and_never_trusts_remote_code(adapters_dir, base_model_dir):
    server = VLLMServer(ServeConfig(adapters=find_adapters(adapters_dir), port=0, enforce_eager=True, api_key="s3cret"))
    cmd = server.arguments()
    assert _flag(cmd, "--host") == ["127.0.0.1"]
    assert _flag(cmd, "--model") == [str(base_model_dir)]
    assert _flag(cmd, "--served-model-name") == ["base"]
    assert sorted(_flag(cmd, "--lora-modules")) == sorted(f"{n}={adapters_dir / n}" for n in ("ad", "hc"))
    assert _flag(cmd, "--max-lora-rank") == ["8"] and "--enable-lora" in cmd and "--enforce-eager" in cmd
    assert "--trust-remote-code" not in cmd
    assert "s3cret" not in " ".join(cmd)  # the key goes through the environment, not ps
    env = server.environment()
    assert env["VLLM_API_KEY"] == "s3cret" and env["HF_HUB_OFFLINE"] == "1"
    if is_cpu_build():
        assert env["VLLM_CPU_KVCACHE_SPACE"] == "1" and env["OMP_NUM_THREADS"] and env["VLLM_CACHE_ROOT"]
        assert env["VLLM_CPU_OMP_THREADS_BIND"] == "nobind" and "VLLM_ENABLE_V1_MULTIPROCESSING" not in env
        # the in-process engine: the same settings, and the engine inside the worker process itself
        assert server.config.environment(in_process=True)["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"
    assert server.model_names == ["base", "ad", "hc"]
    # the in-process engine runs with the same arguments, as vllm.LLM keywords
    engine_args, loras = server.config.engine_args()
    assert loras == find_adapters(adapters_dir) and engine_args["max_lora_rank"] == 8
    assert engine_args["model"] == str(base_model_dir) and engine_args["generation_config"] == "vllm"
    if is_cpu_build():  # whole prefills (augment.serve.cpu_max_batched_tokens), either way
        assert engine_args["enable_chunked_prefill"] is False and engine_args["max_num_batched_tokens"] == 4096
        assert "--no-enable-chunked-prefill" in cmd and _flag(cmd, "--max-num-batched-tokens") == ["4096"]
    with pytest.raises(ValueError, match="never enabled"):
        ServeConfig(extra_args=("--trust-remote-code",))
    with pytest.raises(ValueError, match="exactly one adapter"):
        ServeConfig(adapters=find_adapters(adapters_dir), merged=True)


def test_find_adapters_reads_training_output_and_flat_layouts(adapters_dir, tmp_path):
    train_out = tmp_path / "generators"
    for unit in ("ad", "hc"):
        for stage in ("sft", "dpo"):
            shutil.copytree(adapters_dir / unit, train_out / unit / stage / "adapter")
    (train_out / "markers.csv").write_text("x\n")
    assert find_adapters(train_out) == {u: train_out / u / "dpo" / "adapter" for u in ("ad", "hc")}
    assert find_adapters(train_out, stage="sft")["hc"] == train_out / "hc" / "sft" / "adapter"
    assert find_adapters(train_out / "ad" / "dpo" / "adapter") == {"ad": train_out / "ad" / "dpo" / "adapter"}
    assert find_adapters(adapters_dir) == {"ad": adapters_dir / "ad", "hc": adapters_dir / "hc"}
    with pytest.raises(AdapterError, match="no LoRA adapter"):
        find_adapters(_empty(tmp_path))
    with pytest.raises(AdapterError, match="does not exist"):
        find_adapters(tmp_path / "missing")


def test_adapter_metadata_is_read_in_one_place_and_the_content_hash_follows_the_weights(adapters_dir, tmp_path):
    adapter = shutil.copytree(adapters_dir / "ad", tmp_path / "ad")
    assert read_meta(adapter) is None  # PEFT's files only
    (adapter / ADAPTER_META).write_text(json.dumps({"stage": "dpo", "mode": "separate", "config_hash": "c1"}))
    assert read_meta(adapter)["stage"] == "dpo" and read_meta(adapter)["mode"] == "separate"
    assert cached_meta(adapter, "c1") == read_meta(adapter) and cached_meta(adapter, "c2") is None
    (adapter / ADAPTER_META).write_text('{"stage": "dp')  # torn
    assert read_meta(adapter) is None

    before = adapter_hash(adapter)
    assert before == adapter_hash(adapters_dir / "ad")  # the content, not the folder
    (adapter / "README.md").write_text("a model card")
    assert adapter_hash(adapter) == before
    (adapter / "adapter_model.safetensors").write_bytes((adapter / "adapter_model.safetensors").read_bytes() + b" ")
    assert adapter_hash(adapter) != before and adapter_hash(adapters_dir / "hc") != before


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


@pytest.mark.slow
def test_merged_adapter_gives_the_same_logits_as_base_plus_lora(adapters_dir, base_model_dir, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(1)
    merged_dir = merge_adapter(adapters_dir / "ad", tmp_path / "merged", base_model=base_model_dir)
    assert (merged_dir / "config.json").is_file() and (merged_dir / "tokenizer_config.json").is_file()
    assert "quantization_config" not in json.loads((merged_dir / "config.json").read_text())
    ids = torch.tensor([[1, 504, 3165, 314, 260, 7209, 30]])
    with torch.no_grad():
        base = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
        plain = base(ids).logits
        lora = PeftModel.from_pretrained(base, adapters_dir / "ad")(ids).logits
        merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)(ids).logits
    assert torch.allclose(merged, lora, atol=1e-3)
    assert not torch.allclose(merged, plain, atol=1e-3)  # the adapter really is in there
    assert merge_adapter(adapters_dir / "ad", tmp_path / "merged", base_model=base_model_dir) == merged_dir  # cached


@pytest.mark.slow
def test_the_merged_cache_keeps_only_the_most_recently_used_models(adapters_dir, base_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("COOKIEBENCH_HOME", str(tmp_path))
    cache = tmp_path / "models" / "merged"
    old = []
    for age in range(MERGED_KEEP + 2):  # older models than the cache keeps, newest first
        d = cache / f"ad-{age:016x}"
        d.mkdir(parents=True)
        (d / "config.json").write_text("{}")
        (d / "model.safetensors").write_bytes(b"")
        os.utime(d, (1e9 - age, 1e9 - age))
        old.append(d)
    in_progress = cache / ".ad-0123.tmp"
    in_progress.mkdir()

    merged = merge_adapter(adapters_dir / "ad", base_model=base_model_dir)

    assert merged.parent == cache and (merged / "model.safetensors").stat().st_size > 0
    kept = sorted(d for d in cache.iterdir() if not d.name.startswith("."))
    assert kept == sorted([merged, *old[: MERGED_KEEP - 1]])  # the new one and the newest of the old
    assert in_progress.is_dir()  # another process's merge is not touched

    os.utime(old[MERGED_KEEP - 2], (1.0, 1.0))  # now the least recently used...
    assert merge_adapter(adapters_dir / "ad", base_model=base_model_dir) == merged  # a cache hit prunes nothing
    assert old[MERGED_KEEP - 2].is_dir()
    assert merged.stat().st_mtime > 1e9  # ...and the hit counts as a use


@pytest.mark.slow
def test_start_failure_reports_the_log_tail_and_leaves_no_process(tmp_path):
    server = VLLMServer(
        ServeConfig(port=0, extra_args=("--no-such-flag",), startup_timeout_s=300, log_path=tmp_path / "server.log")
    )
    with pytest.raises(ServeError) as err:
        server.start()
    message = str(err.value)
    assert "exited with code" in message and "--no-such-flag" in message and str(tmp_path / "server.log") in message
    assert server.process is None


@pytest.mark.slow
def test_engine_start_failure_says_why_with_the_log_tail_and_leaves_no_process(tmp_path):
    engine = EngineProcess(
        VLLMConfig(
            dtype="no-such-dtype",
            enforce_eager=True,
            omp_threads=1,
            startup_timeout_s=300,
            log_path=tmp_path / "engine.log",
        )
    )
    with pytest.raises(ServeError) as err:
        engine.start()
    message = str(err.value)
    assert "vLLM engine failed to start" in message and "no-such-dtype" in message
    assert str(tmp_path / "engine.log") in message
    assert engine.process is None and not engine.alive()


@pytest.mark.slow
def test_real_server_is_healthy_on_loopback_and_lists_base_and_adapters(vllm_server):
    assert vllm_server.url.startswith("http://127.0.0.1:")
    assert set(vllm_server.list_models()) == {"base", "ad", "hc"}
    assert vllm_server.alive()


def test_auto_dtype_is_float32_on_a_cpu_without_native_bf16(tmp_path):
    from augment.serve import VLLMConfig, cpu_dtype, is_cpu_build

    avx2, bf16 = tmp_path / "avx2", tmp_path / "bf16"
    avx2.write_text("flags\t\t: fpu sse2 avx avx2 fma\n")
    bf16.write_text("flags\t\t: fpu sse2 avx avx2 avx512f avx512_bf16 amx_bf16\n")
    assert cpu_dtype(avx2) == "float32" and cpu_dtype(bf16) == "auto"
    assert VLLMConfig(dtype="bfloat16").engine_dtype() == "bfloat16"  # an explicit choice is kept
    assert VLLMConfig().engine_dtype() == (cpu_dtype() if is_cpu_build() else "auto")
