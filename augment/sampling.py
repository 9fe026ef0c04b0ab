"""Descriptions sampled from a model with Hugging Face ``generate``, after each training stage.

Training needs a few samples per stage (the ``generated`` preference pairs, the marker
comparison), from a model that is already loaded in the trainer's process; starting a
vLLM engine for two dozen texts would cost more than it saves. Bulk generation for the
benchmark goes through :mod:`augment.generate` instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from augment.generation_config import SamplingOptions
from augment.prompts import Mode, Style, task_messages
from detect.io import write_jsonl


@dataclass(config=ConfigDict(extra="forbid"))
class SampleConfig:
    """Sampling of descriptions after each stage, for the marker comparison and generated pairs.

    Drawn as generation draws (:class:`augment.generation_config.SamplingOptions`' defaults), with what
    HF ``generate`` offers: no frequency penalty, no token floor.
    """

    n: int = Field(default=24, ge=1, description="Descriptions per style per stage.")
    max_new_tokens: int = Field(default=SamplingOptions.max_tokens, ge=1, description="Tokens per description.")
    temperature: float = Field(default=SamplingOptions.temperature, gt=0, description="Sampling temperature.")
    min_p: float = Field(
        default=SamplingOptions.min_p, ge=0, lt=1, description="Min-p truncation, as in generation (0: off)."
    )
    top_p: float = Field(default=SamplingOptions.top_p, gt=0, le=1, description="Nucleus sampling mass (1: off).")
    batch_size: int = Field(default=24, ge=1, description="Prompts per generate call.")
    seed: int = Field(default=0, description="Sampling seed.")
    base: bool = Field(default=True, description="Also sample the bare base model, as a reference row.")


def sample_descriptions(
    model, tokenizer, styles: Sequence[Style], mode: Mode, config: SampleConfig
) -> dict[str, list[str]]:
    """``config.n`` verbatim descriptions per style, sampled with HF ``generate`` in batches."""
    import torch

    out: dict[str, list[str]] = {}
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # batched generation continues every row from its last real token
    was_training = model.training
    model.eval()
    try:
        for k, style in enumerate(styles):
            prompt = tokenizer.apply_chat_template(
                task_messages(style, mode), tokenize=False, add_generation_prompt=True
            )
            texts: list[str] = []
            torch.manual_seed(config.seed + 1000 * k)
            while len(texts) < config.n:
                batch = min(config.batch_size, config.n - len(texts))
                inputs = tokenizer([prompt] * batch, return_tensors="pt", padding=True, add_special_tokens=False)
                inputs = {key: v.to(model.device) for key, v in inputs.items()}
                with torch.no_grad():
                    generated = model.generate(
                        **inputs,
                        do_sample=True,
                        temperature=config.temperature,
                        top_p=config.top_p,
                        min_p=config.min_p or None,
                        max_new_tokens=config.max_new_tokens,
                        pad_token_id=tokenizer.pad_token_id,
                    )
                new = generated[:, inputs["input_ids"].shape[1] :]
                texts += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
            out[style] = texts
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return out


def write_samples(path: Path, samples: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
    """Samples as JSONL, one ``{"stage", "style", "i", "text"}`` per line
    (:func:`augment.pair_files.read_samples` reads it)."""
    write_jsonl(
        path,
        (
            json.dumps({"stage": stage, "style": style, "i": i, "text": text})
            for stage, by_style in samples.items()
            for style, texts in by_style.items()
            for i, text in enumerate(texts)
        ),
    )
