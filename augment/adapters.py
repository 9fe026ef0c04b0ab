"""A trained LoRA adapter on disk: its metadata, its cache key, its content hash, its model card;
finding adapters in a training output (:func:`find_adapters`) and folding one into full weights
(:func:`merge_adapter`).

Beside PEFT's own files each adapter folder holds ``cookiebench-adapter.json``
(:data:`ADAPTER_META`: stage, styles, mode, base model, config hash, data digest, metrics)
and a ``README.md`` model card. A stage is skipped when its adapter's ``config_hash``
matches the one it would be trained with (:func:`cached_meta`). What the adapter holds
(PEFT's files) is named by :func:`adapter_hash`: merged models and synthetic records carry it.

The hash covers the *whole* TRL training config and the whole PEFT LoRA config, minus a
deny-list of fields that cannot change the learned weights (:data:`NON_WEIGHT_FIELDS`:
paths, logging, reporting, checkpoint cadence, hub uploads, our own input checks). A
field that TRL or PEFT adds later is therefore in the hash until someone shows it cannot
matter: a stale adapter is never reused because a new option was forgotten.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from augment.base_model import MARKER_FILE, load_base_model
from detect.errors import CorpusError
from detect.hashing import digest, file_digest

logger = logging.getLogger(__name__)

ADAPTER_META = "cookiebench-adapter.json"
# Merged models the cache keeps, most recently used first. Each is a full fp32 copy of the
# base model (0.5 GB for SmolLM2-135M) and every new generator makes one: unpruned, a few
# weeks of benchmarks filled 55 GB. Four covers the two styles of two generator sets at once.
MERGED_KEEP = 4

# Training-argument fields (transformers/TRL) that cannot change the weights a stage learns.
NON_WEIGHT_FIELDS: frozenset[str] = frozenset(
    {
        # where things go and what the run is called
        "output_dir",
        "run_name",
        "project",
        "resume_from_checkpoint",
        # logging and reporting
        "logging_strategy",
        "logging_steps",
        "logging_first_step",
        "logging_nan_inf_filter",
        "log_level",
        "log_level_replica",
        "log_on_each_node",
        "report_to",
        "disable_tqdm",
        "skip_memory_metrics",
        "include_num_input_tokens_seen",
        "trackio_space_id",
        "trackio_bucket_id",
        "trackio_static_space_id",
        # checkpoints (a resume continues from the same state)
        "save_strategy",
        "save_steps",
        "save_total_limit",
        "save_only_model",
        "save_on_each_node",
        "enable_jit_checkpoint",
        "restore_callback_states_from_checkpoint",
        # the hub
        "push_to_hub",
        "hub_token",
        "hub_private_repo",
        "hub_model_id",
        "hub_strategy",
        "hub_always_push",
        "hub_revision",
        # how evaluation results are gathered (not when, nor which model is kept)
        "eval_accumulation_steps",
        "eval_do_concat_batches",
        "eval_use_gather_object",
        "batch_eval_metrics",
        "include_for_metrics",
        # host resources
        "dataloader_pin_memory",
        "dataloader_persistent_workers",
        "dataloader_prefetch_factor",
        "dataset_num_proc",
        "ddp_timeout",
        "local_rank",
        # cookiebench's own input checks (CookieSFTConfig, CookieDPOConfig)
        "min_transcripts",
        "min_pairs",
    }
)

# LoRA-config fields PEFT fills in or flips when it loads an adapter, which do not shape the weights.
NON_WEIGHT_LORA_FIELDS: frozenset[str] = frozenset({"base_model_name_or_path", "revision", "inference_mode"})


def training_fields(args: Any) -> dict[str, Any]:
    """A TRL config's fields that can change what is learned (all but :data:`NON_WEIGHT_FIELDS`)."""
    return {k: v for k, v in args.to_dict().items() if k not in NON_WEIGHT_FIELDS}


def lora_fields(lora: Any) -> dict[str, Any]:
    """A LoRA config's fields that can change the adapter (all but :data:`NON_WEIGHT_LORA_FIELDS`)."""
    out = {k: v for k, v in lora.to_dict().items() if k not in NON_WEIGHT_LORA_FIELDS}
    if isinstance(out.get("target_modules"), list | set | tuple):
        out["target_modules"] = sorted(out["target_modules"])  # a set in PEFT: no stable order
    return out


def base_model_identity(folder: Path) -> dict[str, str]:
    """Name and content digest of a base-model folder (cheap: no weights are read)."""
    marker = folder / MARKER_FILE
    if marker.is_file():
        meta = json.loads(marker.read_text())
        return {"name": "SmolLM2-135M-Instruct", "digest": meta.get("gguf_sha256", "")[:16]}
    config = (folder / "config.json").read_text()
    weights = sorted(str(p.stat().st_size) for p in folder.glob("*.safetensors"))
    return {"name": folder.name, "digest": digest([config, weights])}


def read_meta(adapter: str | Path) -> dict[str, Any] | None:
    """The adapter's metadata (:data:`ADAPTER_META`), or None when the folder holds no finished
    adapter (weights and metadata) or the metadata cannot be read."""
    adapter = Path(adapter)
    meta = adapter / ADAPTER_META
    if not (meta.is_file() and (adapter / "adapter_model.safetensors").is_file()):
        return None
    try:
        return json.loads(meta.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def adapter_hash(adapter: str | Path) -> str:
    """Content hash of an adapter: PEFT's ``adapter_*`` files (config and weights), names and bytes."""
    return file_digest(sorted(Path(adapter).glob("adapter_*")), 16, with_names=True)


def cached_meta(adapter: Path, config_hash: str) -> dict[str, Any] | None:
    """The metadata of a finished adapter trained with exactly ``config_hash``, else None."""
    meta = read_meta(adapter)
    return meta if meta and meta.get("config_hash") == config_hash else None


def load_adapter(base_model: str | Path | None, adapter: str | Path, *, merge: bool = False):
    """``(model, tokenizer)``: the base model with a trained adapter on top, ready to generate.

    ``merge`` folds the adapter into the weights: generation then runs at base-model speed
    (an unmerged adapter adds a matmul per layer), but the adapter can no longer be trained.
    """
    from peft import PeftModel

    model, tokenizer = load_base_model(base_model)
    model = PeftModel.from_pretrained(model, str(adapter))
    return (model.merge_and_unload() if merge else model), tokenizer


def save_adapter(model: Any, adapter: Path) -> None:
    """Only the trained adapter ("default"), swapped into place whole; TRL's frozen "ref" copy stays behind."""
    tmp = adapter.with_name(adapter.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(str(tmp), selected_adapters=["default"])
    if adapter.exists():
        shutil.rmtree(adapter)
    tmp.rename(adapter)


def write_card(adapter: Path, meta: Mapping[str, Any]) -> None:
    """:data:`ADAPTER_META` and a model card (``README.md``) into the adapter folder."""
    (adapter / ADAPTER_META).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    styles = "+".join(s.upper() for s in meta["styles"])
    metrics = "\n".join(f"| {k} | {v:.4g} |" for k, v in sorted(meta["metrics"].items()) if isinstance(v, float | int))
    card = f"""---
base_model: {meta["base_model"]["name"]}
library_name: peft
tags: [cookiebench, lora, {meta["stage"]}, {"-".join(meta["styles"])}-style]
---
# cookiebench {styles}-style generator ({meta["stage"].upper()}, {meta["mode"]} mode)

Describes the Cookie Theft picture in the {styles} style, as verbatim speech (fillers as
uh/um, repetitions as said, '...' for trailing off). Trained on simulated or research
transcripts; not a clinical tool.

- base model: `{meta["base_model"]["name"]}` (digest `{meta["base_model"]["digest"]}`)
- config hash: `{meta["config_hash"]}`; data digest: `{meta["data_digest"]}`; prompt version: `{meta["prompt_version"]}`
- trained on {meta["examples"]} examples in {meta["seconds"]:.0f} s

| metric | value |
|---|---|
{metrics}
"""
    (adapter / "README.md").write_text(card)


class AdapterError(CorpusError):
    """An adapter folder is missing or is not a PEFT LoRA adapter."""


def _adapter_in(unit: Path, stage: str) -> Path | None:
    """``unit`` itself, or the stage's adapter inside a training output (``unit/<stage>/adapter``)."""
    for cand in (unit, unit / stage / "adapter", unit / "dpo" / "adapter", unit / "sft" / "adapter"):
        if (cand / "adapter_config.json").is_file():
            return cand
    return None


def find_adapters(path: str | Path, *, stage: str = "dpo") -> dict[str, Path]:
    """Adapters under ``path`` by served name.

    Accepts a training output (``DIR/ad/dpo/adapter``, ``DIR/hc/dpo/adapter``, or one
    ``DIR/cond/...`` adapter in conditional mode; ``stage`` picks ``dpo`` or ``sft``), a
    folder of adapters (``DIR/ad``, ``DIR/hc``: PEFT ``save_pretrained`` output), or one
    adapter folder. The unit folder's name is the served name.
    """
    root = Path(path).expanduser()
    fix = "pass the output of `cookiebench augment train` or a folder holding ad/ and hc/ LoRA adapters"
    if not root.is_dir():
        raise AdapterError(root, "adapter folder does not exist", fix=fix)
    if (root / "adapter_config.json").is_file():
        name = root.name
        if name == "adapter":  # <unit>/<stage>/adapter: the unit names it
            name = root.parent.parent.name
        return {name: root}
    found = {}
    for unit in sorted(p for p in root.iterdir() if p.is_dir()):
        adapter = _adapter_in(unit, stage)
        if adapter is not None:
            found[unit.name] = adapter
    if not found:
        raise AdapterError(root, "no LoRA adapter (adapter_config.json) in it or its sub-folders", fix=fix)
    return found


def merge_adapter(
    adapter_dir: str | Path, out_dir: str | Path | None = None, *, base_model: str | Path | None = None
) -> Path:
    """Fold a LoRA adapter into full weights (fp32 HF folder) in ``out_dir``, by default the
    models cache under the adapter's hash, which keeps the :data:`MERGED_KEEP` most recently used.

    vLLM then serves it as a plain model: no LoRA kernels per step, which on CPU roughly
    doubles throughput, at the cost of one full model per style.
    """
    from augment.base_model import default_cache_dir, resolve_base_model

    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise AdapterError(adapter_dir, "not a LoRA adapter (no adapter_config.json)", fix="pass a PEFT adapter folder")
    base = resolve_base_model(base_model)
    cached = out_dir is None
    name = f"{adapter_dir.name}-{adapter_hash(adapter_dir)}"
    out = Path(out_dir) if out_dir else default_cache_dir() / "merged" / name
    if _is_merged(out):
        if cached:
            os.utime(out)  # used now: the last to be pruned
        return out
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("merging %s into %s -> %s", adapter_dir, base, out)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, local_files_only=True)
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent if out.parent.exists() else None))
    try:
        merged.save_pretrained(tmp, safe_serialization=True)
        AutoTokenizer.from_pretrained(base, local_files_only=True).save_pretrained(tmp)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():  # another process won the race; its result is as good as ours
            return out
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if cached:
        prune_merged(out.parent)
    return out


def _is_merged(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def prune_merged(cache: Path, keep: int = MERGED_KEEP) -> list[Path]:
    """Delete all but the ``keep`` most recently used merged models in ``cache``; returns the deleted.

    A model a vLLM process already loaded survives its folder's deletion (the weights are in
    memory), and one that is about to be loaded was just merged or used, so it is among the
    newest. Half-written folders (a merge in progress: hidden names) are left alone.
    """
    used = {}
    for d in cache.iterdir():
        try:  # another process may be pruning the same cache
            if not d.name.startswith(".") and _is_merged(d):
                used[d] = d.stat().st_mtime
        except FileNotFoundError:
            continue
    merged = sorted(used, key=used.__getitem__, reverse=True)
    for old in merged[keep:]:
        logger.info("pruning merged model %s (the cache keeps the %d most recently used)", old, keep)
        shutil.rmtree(old, ignore_errors=True)
    return merged[keep:]
