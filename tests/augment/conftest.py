"""Shared fixtures for augment tests: two real LoRA adapters and one real vLLM server per run."""

from __future__ import annotations

import pytest


def make_adapter(base, out, seed: int, *, rank: int = 8):
    """A LoRA adapter whose lora_B is random (not zero), so it really changes the output."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, local_files_only=True)
    peft_model = get_peft_model(
        model, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    )
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                # 0.2 changes greedy text yet keeps it fluent; at 0.5 the output is noise whose first
                # token differs between machines (on one CI machine an immediate end of text)
                param.copy_(torch.randn(param.shape, generator=gen) * 0.2)
    peft_model.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def base_model_dir():
    from augment.base_model import prepare_base_model

    return prepare_base_model()


@pytest.fixture(scope="session")
def adapters_dir(tmp_path_factory, base_model_dir):
    import torch

    torch.set_num_threads(2)
    root = tmp_path_factory.mktemp("adapters")
    make_adapter(base_model_dir, root / "ad", seed=1)
    make_adapter(base_model_dir, root / "hc", seed=2)
    return root


@pytest.fixture(scope="session")
def vllm_server(adapters_dir, tmp_path_factory):
    """The one real vLLM server of the test run (eager: fast start), killed at the end."""
    from augment.adapters import find_adapters
    from augment.serve import ServeConfig, VLLMServer

    config = ServeConfig(
        adapters=find_adapters(adapters_dir),
        port=0,
        enforce_eager=True,
        max_model_len=1024,
        omp_threads=1,  # on a shared 2-core box, 2 busy-waiting OpenMP threads run ~10x slower than 1
        startup_timeout_s=480,
        log_path=tmp_path_factory.mktemp("vllm") / "server.log",
    )
    server = VLLMServer(config)
    server.start()
    try:
        yield server
    finally:
        server.stop()
