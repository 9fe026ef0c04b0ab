"""SFT then DPO of style adapters (LoRA) on the base model, with TRL and PEFT.

For each *unit* (an adapter: ``ad`` and ``hc`` in ``separate`` mode, one ``cond`` adapter
in ``conditional`` mode):

1. SFT: ``SFTTrainer`` on the style's real transcripts (verbatim), a fresh LoRA adapter.
2. Samples from the SFT adapter (for the ``generated`` pairs and the marker comparison).
3. Preference pairs from the same transcripts (:mod:`augment.pairs`).
4. DPO: ``DPOTrainer`` continues the SFT adapter. The reference is the SFT policy without
   a second copy of the model: TRL copies the SFT adapter into a frozen ``ref`` adapter on
   the same base weights (a few MB), or, with ``precompute_ref_log_probs``, scores all pairs
   with it once before training.
5. Samples from the DPO adapter; their markers are compared with real AD and HC (a table
   and a plot), next to the SFT samples and the bare base model's.

Outputs under ``out_dir``::

    <unit>/sft/adapter/   adapter_model.safetensors, adapter_config.json, README.md (card), cookiebench-adapter.json
    <unit>/dpo/adapter/   the same, after DPO (load it on the base model: it holds SFT+DPO)
    <unit>/pairs.jsonl    the DPO pairs, and pairs.summary.json
    <unit>/samples.jsonl  sampled descriptions (stage, style, text)
    base_samples.jsonl    the bare base model's samples (the reference row)
    markers.csv, markers.png, report.json

Adapters are cached by a hash of (config, data): a rerun with the same inputs skips a
finished stage; an interrupted stage resumes from its last checkpoint.

Run::

    cookiebench augment train --style both --mode separate --out runs/generators
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trl import DPOConfig, SFTConfig

from augment.base_model import MARKER_FILE, resolve_base_model
from augment.pairs import PairConfig, PairSet, build_pairs, write_pairs
from augment.prompts import PROMPT_VERSION, STYLE_LABEL, STYLES, Mode, completion_messages, task_messages
from augment.style_axis import STYLE_MARKERS, StyleAxis
from detect.hashing import digest
from detect.markers import real_verbatim, verbatim_markers
from detect.errors import UserError
from detect.records import Corpus, Transcript

logger = logging.getLogger(__name__)

ADAPTER_META = "cookiebench-adapter.json"
DEFAULT_EXPERIMENT = "cookiebench-generators"


class GeneratorError(UserError):
    """Generators cannot be trained from the given input (too few transcripts or pairs, ...)."""


# -- configs ----------------------------------------------------------------------------------------


@dataclass
class CookieSFTConfig(SFTConfig):
    r"""TRL's :class:`~trl.SFTConfig` with defaults that fit LoRA SFT of a 135M model on a CPU in minutes.

    Adds only ``min_transcripts``. LoRA arrives separately, as a ``peft.LoraConfig``.
    """

    # Overridden defaults (model / data)
    max_length: int | None = field(default=320, metadata={"help": "Tokens per example (prompt + description); longer ones are cut."})
    # Overridden defaults (training): LoRA wants a much larger step than full fine-tuning.
    learning_rate: float = field(default=2e-4, metadata={"help": "AdamW learning rate for the LoRA weights."})
    num_train_epochs: float = field(default=2.0, metadata={"help": "Passes over the style's transcripts."})
    per_device_train_batch_size: int = field(default=4, metadata={"help": "Transcripts per step."})
    lr_scheduler_type: str = field(default="constant_with_warmup", metadata={"help": "Learning-rate schedule."})
    warmup_steps: float = field(default=2, metadata={"help": "Warm-up steps."})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Recompute activations (slower; a 135M model does not need it)."})
    bf16: bool | None = field(default=False, metadata={"help": "bf16 mixed precision (off: CPUs are often slower in it)."})
    # Overridden defaults (logging / checkpoints)
    logging_steps: float = field(default=1, metadata={"help": "Log every n steps (curves need points)."})
    save_strategy: str = field(default="steps", metadata={"help": "When to checkpoint (resume needs checkpoints)."})
    save_steps: float = field(default=10, metadata={"help": "Checkpoint every n steps."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept."})
    report_to: str | list[str] | None = field(default="none", metadata={"help": "Integrations; MLflow is logged by cookiebench itself."})
    # Ours
    min_transcripts: int = field(default=8, metadata={"help": "Fewer transcripts of a style than this is an error."})

    def __post_init__(self):
        super().__post_init__()
        if self.min_transcripts < 1:
            raise ValueError(f"min_transcripts must be >= 1, got {self.min_transcripts}")


@dataclass
class CookieDPOConfig(DPOConfig):
    r"""TRL's :class:`~trl.DPOConfig` with CPU-friendly defaults for DPO of an SFT LoRA adapter.

    Adds ``min_pairs`` and ``score_pairs``. ``precompute_ref_log_probs`` (TRL's) scores every
    pair with the reference once before training instead of at each step.
    """

    max_length: int | None = field(default=320, metadata={"help": "Tokens per prompt + description; longer ones are cut."})
    learning_rate: float = field(default=5e-5, metadata={"help": "AdamW learning rate for the LoRA weights."})
    beta: float = field(default=0.1, metadata={"help": "Deviation penalty from the reference (the SFT policy)."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Passes over the pairs."})
    per_device_train_batch_size: int = field(default=4, metadata={"help": "Pairs per step."})
    per_device_eval_batch_size: int = field(default=8, metadata={"help": "Pairs per batch when scoring."})
    lr_scheduler_type: str = field(default="constant_with_warmup", metadata={"help": "Learning-rate schedule."})
    warmup_steps: float = field(default=2, metadata={"help": "Warm-up steps."})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Recompute activations."})
    bf16: bool | None = field(default=False, metadata={"help": "bf16 mixed precision."})
    logging_steps: float = field(default=1, metadata={"help": "Log every n steps."})
    save_strategy: str = field(default="steps", metadata={"help": "When to checkpoint."})
    save_steps: float = field(default=10, metadata={"help": "Checkpoint every n steps."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept."})
    report_to: str | list[str] | None = field(default="none", metadata={"help": "Integrations; MLflow is logged by cookiebench itself."})
    # Ours
    min_pairs: int = field(default=8, metadata={"help": "Fewer pairs than this after filtering is an error."})
    score_pairs: int = field(default=32, metadata={"help": "Training pairs scored before and after DPO (reward accuracy, margin); 0: skip."})

    def __post_init__(self):
        super().__post_init__()
        if self.min_pairs < 1:
            raise ValueError(f"min_pairs must be >= 1, got {self.min_pairs}")
        if self.score_pairs < 0:
            raise ValueError(f"score_pairs must be >= 0, got {self.score_pairs}")


@dataclass
class SampleConfig:
    """Sampling of descriptions after each stage, for the marker comparison and generated pairs."""

    n: int = field(default=24, metadata={"help": "Descriptions per style per stage."})
    max_new_tokens: int = field(default=160, metadata={"help": "Tokens per description."})
    temperature: float = field(default=0.9, metadata={"help": "Sampling temperature."})
    min_p: float = field(default=0.05, metadata={"help": "Min-p truncation, as in generation (0: off)."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass (1: off)."})
    batch_size: int = field(default=24, metadata={"help": "Prompts per generate call."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    base: bool = field(default=True, metadata={"help": "Also sample the bare base model, as a reference row."})

    def __post_init__(self):
        if self.n < 1 or self.max_new_tokens < 1 or self.batch_size < 1:
            raise ValueError("n, max_new_tokens and batch_size must be >= 1")
        if not 0 < self.top_p <= 1 or self.temperature <= 0 or not 0 <= self.min_p < 1:
            raise ValueError("temperature must be > 0, top_p in (0, 1] and min_p in [0, 1)")


def default_lora_config(r: int = 16, alpha: int = 32, dropout: float = 0.05,
                        target_modules: Sequence[str] = ("q_proj", "k_proj", "v_proj", "o_proj")):
    """The LoRA used when none is given: attention projections of every layer."""
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules),
                      bias="none", task_type="CAUSAL_LM")


@dataclass
class GeneratorConfig:
    """Everything one training invocation needs, one typed config per component."""

    styles: tuple[str, ...] = ("ad", "hc")
    mode: Mode = "separate"
    base_model: str | None = None  # a local HF causal-LM folder; None: the prepared SmolLM2
    sft: CookieSFTConfig = field(default_factory=lambda: CookieSFTConfig(output_dir="unused"))
    dpo: CookieDPOConfig | None = field(default_factory=lambda: CookieDPOConfig(output_dir="unused"))  # None: SFT only
    lora: Any = None  # a peft.LoraConfig; None: default_lora_config()
    pairs: PairConfig = field(default_factory=PairConfig)
    sampling: SampleConfig = field(default_factory=SampleConfig)
    tracking_uri: str | None = None  # None: detect.tracking's default store
    experiment: str = DEFAULT_EXPERIMENT
    track: bool = True

    def __post_init__(self):
        self.styles = tuple(self.styles)
        if not self.styles or any(s not in STYLES for s in self.styles):
            raise ValueError(f"styles must be a non-empty subset of {STYLES}, got {self.styles}")
        if self.mode not in ("separate", "conditional"):
            raise ValueError(f"mode must be 'separate' or 'conditional', got {self.mode!r}")
        if self.lora is None:
            self.lora = default_lora_config()

    def units(self) -> dict[str, tuple[str, ...]]:
        """Adapter name -> the styles it is trained on."""
        if self.mode == "conditional":
            return {"cond": self.styles}
        return {s: (s,) for s in self.styles}


# Fields that change what is learned; the rest (paths, logging, checkpoint cadence) do not.
_SEMANTIC_TRAINING_FIELDS = (
    "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
    "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "seed", "max_length", "optim",
    "beta", "loss_type", "loss_weights", "label_smoothing", "completion_only_loss", "packing", "bf16",
)


def _semantic(args: Any) -> dict[str, Any]:
    data = args.to_dict()
    return {k: data[k] for k in _SEMANTIC_TRAINING_FIELDS if k in data}


_LORA_FIELDS = ("r", "lora_alpha", "lora_dropout", "target_modules", "bias", "use_rslora", "use_dora",
                "layers_to_transform", "modules_to_save", "init_lora_weights")


def lora_fields(lora: Any) -> dict[str, Any]:
    """What of a LoRA config changes the adapter (PEFT fills in paths and names on use, which must not)."""
    data = lora.to_dict()
    out = {k: data.get(k) for k in _LORA_FIELDS}
    if isinstance(out["target_modules"], list | set | tuple):
        out["target_modules"] = sorted(out["target_modules"])
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


# -- results ----------------------------------------------------------------------------------------


@dataclass
class StageResult:
    adapter: Path
    config_hash: str
    metrics: dict[str, float]
    cached: bool = False
    resumed_from: str | None = None


@dataclass
class UnitResult:
    name: str
    styles: tuple[str, ...]
    sft: StageResult
    dpo: StageResult | None
    pairs_path: Path | None
    samples: dict[str, dict[str, list[str]]]  # stage -> style -> texts


@dataclass
class TrainReport:
    out_dir: Path
    units: dict[str, UnitResult]
    comparison: Any  # pandas DataFrame: rows (real AD, real HC, base, sft:ad, dpo:ad, ...), marker columns
    comparison_path: Path | None
    plot_path: Path | None
    run_id: str | None


# -- data -------------------------------------------------------------------------------------------


def _check_transcripts(transcripts: Sequence[Transcript], styles: Sequence[str], minimum: int) -> None:
    for style in styles:
        n = sum(1 for t in transcripts if t.label == STYLE_LABEL[style] and real_verbatim(t).strip())
        if n < minimum:
            raise GeneratorError(
                f"only {n} {STYLE_LABEL[style].value} transcripts with text for the {style.upper()}-style generator; "
                f"SFT needs at least {minimum} (give more transcripts, or lower --min-transcripts)"
            )


def sft_dataset(transcripts: Sequence[Transcript], styles: Sequence[str], mode: Mode):
    """Conversational prompt/completion rows: the style's task prompt, a real verbatim description."""
    from datasets import Dataset

    rows = [
        {"prompt": task_messages(style, mode), "completion": completion_messages(real_verbatim(t))}
        for style in styles for t in transcripts if t.label == STYLE_LABEL[style] and real_verbatim(t).strip()
    ]
    return Dataset.from_list(rows)


def dpo_dataset(pairs: Sequence[Any]):
    """Conversational preference rows (prompt messages, chosen and rejected assistant turns)."""
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": p.prompt, "chosen": completion_messages(p.chosen), "rejected": completion_messages(p.rejected)}
        for p in pairs
    ])


# -- MLflow -----------------------------------------------------------------------------------------


def _mlflow_callback(stage: str):
    from transformers import TrainerCallback

    class StageCurves(TrainerCallback):
        """Trainer logs -> MLflow metrics of the active run, prefixed by stage (sft/loss, dpo/rewards/margins)."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            import mlflow

            if mlflow.active_run() is None or not logs:
                return
            metrics = {f"{stage}/{k}": float(v) for k, v in logs.items()
                       if isinstance(v, int | float) and math.isfinite(float(v))}
            if metrics:
                mlflow.log_metrics(metrics, step=state.global_step)

    return StageCurves()


@contextlib.contextmanager
def _tracking(config: GeneratorConfig, name: str, params: Mapping[str, Any]) -> Iterator[Any]:
    if not config.track:
        yield None
        return
    from detect.tracking import parent_run, setup_tracking

    setup_tracking(config.experiment, config.tracking_uri)
    with parent_run(name, params=params) as run:
        yield run


@contextlib.contextmanager
def _child(config: GeneratorConfig, name: str, params: Mapping[str, Any]) -> Iterator[None]:
    if not config.track:
        yield
        return
    from detect.tracking import child_run

    with child_run(name, params=params):
        yield


def _log_artifacts(config: GeneratorConfig, path: Path, artifact_path: str) -> None:
    if not config.track:
        return
    import mlflow

    if path.is_dir():
        mlflow.log_artifacts(str(path), artifact_path=artifact_path)
    elif path.is_file():
        mlflow.log_artifact(str(path), artifact_path=artifact_path)


# -- model loading ----------------------------------------------------------------------------------


def _load(base: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, local_files_only=True)
    return model, tokenizer


def load_adapter(base_model: str | Path | None, adapter: str | Path):
    """``(model, tokenizer)``: the base model with a trained adapter on top, ready to generate."""
    from peft import PeftModel

    model, tokenizer = _load(resolve_base_model(base_model))
    return PeftModel.from_pretrained(model, str(adapter)), tokenizer


# -- sampling ---------------------------------------------------------------------------------------


def sample_descriptions(model, tokenizer, styles: Sequence[str], mode: Mode, config: SampleConfig) -> dict[str, list[str]]:
    """``config.n`` verbatim descriptions per style, sampled with HF ``generate`` in batches."""
    import torch

    out: dict[str, list[str]] = {}
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # batched generation continues every row from its last real token
    was_training = model.training
    model.eval()
    try:
        for k, style in enumerate(styles):
            prompt = tokenizer.apply_chat_template(task_messages(style, mode), tokenize=False, add_generation_prompt=True)
            texts: list[str] = []
            torch.manual_seed(config.seed + 1000 * k)
            while len(texts) < config.n:
                batch = min(config.batch_size, config.n - len(texts))
                inputs = tokenizer([prompt] * batch, return_tensors="pt", padding=True, add_special_tokens=False)
                inputs = {key: v.to(model.device) for key, v in inputs.items()}
                with torch.no_grad():
                    generated = model.generate(
                        **inputs, do_sample=True, temperature=config.temperature, top_p=config.top_p,
                        min_p=config.min_p or None,
                        max_new_tokens=config.max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                    )
                new = generated[:, inputs["input_ids"].shape[1]:]
                texts += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
            out[style] = texts
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return out


# -- adapters on disk -------------------------------------------------------------------------------


def _read_meta(adapter: Path) -> dict[str, Any] | None:
    meta = adapter / ADAPTER_META
    if not (meta.is_file() and (adapter / "adapter_model.safetensors").is_file()):
        return None
    try:
        return json.loads(meta.read_text())
    except json.JSONDecodeError:
        return None


def _write_card(adapter: Path, meta: dict[str, Any]) -> None:
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


def _prepare_stage_dir(stage_dir: Path, config_hash: str) -> str | None:
    """Checkpoint to resume from, if the stage was interrupted with the same config; else a clean folder."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoints = stage_dir / "checkpoints"
    stamp = stage_dir / "config_hash"
    if checkpoints.is_dir() and stamp.is_file() and stamp.read_text().strip() == config_hash:
        last = get_last_checkpoint(str(checkpoints))
        if last:
            return last
    if checkpoints.exists():
        shutil.rmtree(checkpoints)
    stage_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(config_hash + "\n")
    return None


def _stage_args(args: Any, output_dir: Path) -> Any:
    from dataclasses import replace

    return replace(args, output_dir=str(output_dir))


# -- stages -----------------------------------------------------------------------------------------


def run_sft(base: Path, transcripts: Sequence[Transcript], styles: Sequence[str], mode: Mode, args: CookieSFTConfig,
            lora: Any, unit_dir: Path, *, identity: dict[str, str], data_digest: str,
            callbacks: Sequence[Any] = ()) -> StageResult:
    """LoRA SFT on the styles' transcripts; returns the saved adapter (cached when config and data match)."""
    from trl import SFTTrainer

    stage_dir = unit_dir / "sft"
    adapter = stage_dir / "adapter"
    config_hash = digest({"stage": "sft", "args": _semantic(args), "lora": lora_fields(lora), "mode": mode,
                         "styles": list(styles), "prompt": PROMPT_VERSION, "base": identity, "data": data_digest})
    meta = _read_meta(adapter)
    if meta and meta.get("config_hash") == config_hash:
        logger.info("SFT %s: cached adapter %s", "+".join(styles), adapter)
        return StageResult(adapter, config_hash, meta.get("metrics", {}), cached=True)

    resume = _prepare_stage_dir(stage_dir, config_hash)
    dataset = sft_dataset(transcripts, styles, mode)
    model, tokenizer = _load(base)
    trainer = SFTTrainer(
        model=model, args=_stage_args(args, stage_dir / "checkpoints"), train_dataset=dataset,
        processing_class=tokenizer, peft_config=copy.deepcopy(lora), callbacks=list(callbacks),  # PEFT mutates it
    )
    start = time.perf_counter()
    if resume:
        logger.info("SFT %s: resuming from %s", "+".join(styles), resume)
    output = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - start
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    metrics = {"train_loss": float(output.training_loss), "steps": float(trainer.state.global_step)}
    if losses:
        metrics.update(first_loss=float(losses[0]), final_loss=float(losses[-1]))
    _save_adapter(trainer.model, adapter)
    _write_card(adapter, {
        "stage": "sft", "styles": list(styles), "mode": mode, "base_model": identity, "config_hash": config_hash,
        "data_digest": data_digest, "prompt_version": PROMPT_VERSION, "metrics": metrics, "examples": len(dataset),
        "seconds": seconds, "lora": lora_fields(lora), "args": _semantic(args),
    })
    return StageResult(adapter, config_hash, metrics, resumed_from=resume)


def run_dpo(base: Path, sft: StageResult, pairs: Sequence[Any], styles: Sequence[str], mode: Mode,
            args: CookieDPOConfig, unit_dir: Path, *, identity: dict[str, str], data_digest: str,
            callbacks: Sequence[Any] = ()) -> StageResult:
    """DPO continuing the SFT adapter; the reference is the SFT adapter itself, frozen (no second model)."""
    from peft import PeftModel
    from trl import DPOTrainer

    if len(pairs) < args.min_pairs:
        raise GeneratorError(
            f"only {len(pairs)} preference pairs for the {'+'.join(styles).upper()} generator after filtering; DPO "
            f"needs at least {args.min_pairs} (give more transcripts, add strategies, or lower --min-margin)"
        )
    stage_dir = unit_dir / "dpo"
    adapter = stage_dir / "adapter"
    pairs_digest = digest(sorted(p.id for p in pairs))
    config_hash = digest({"stage": "dpo", "sft": sft.config_hash, "args": _semantic(args), "pairs": pairs_digest})
    meta = _read_meta(adapter)
    if meta and meta.get("config_hash") == config_hash:
        logger.info("DPO %s: cached adapter %s", "+".join(styles), adapter)
        return StageResult(adapter, config_hash, meta.get("metrics", {}), cached=True)

    resume = _prepare_stage_dir(stage_dir, config_hash)
    dataset = dpo_dataset(pairs)
    model, tokenizer = _load(base)
    # is_trainable: DPO goes on training the SFT adapter; TRL copies it into a frozen "ref"
    # adapter on the same base weights, so the reference costs adapter-sized memory only.
    model = PeftModel.from_pretrained(model, str(sft.adapter), is_trainable=True)
    n_score = min(args.score_pairs, len(dataset))
    score_set = dataset.select(range(n_score)) if n_score else None
    trainer = DPOTrainer(
        model=model, ref_model=None, args=_stage_args(args, stage_dir / "checkpoints"), train_dataset=dataset,
        eval_dataset=score_set, processing_class=tokenizer, callbacks=list(callbacks),
    )
    metrics: dict[str, float] = {}
    if score_set is not None and not resume:
        metrics.update({f"step0_{k.removeprefix('eval_')}": float(v) for k, v in trainer.evaluate().items()
                        if k.startswith("eval_rewards/")})
    start = time.perf_counter()
    if resume:
        logger.info("DPO %s: resuming from %s", "+".join(styles), resume)
    output = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - start
    metrics.update(train_loss=float(output.training_loss), steps=float(trainer.state.global_step),
                   pairs_per_second=float(len(dataset) * args.num_train_epochs / seconds) if args.max_steps <= 0 else
                   float(trainer.state.global_step * args.per_device_train_batch_size / seconds))
    if score_set is not None:
        metrics.update({f"final_{k.removeprefix('eval_')}": float(v) for k, v in trainer.evaluate().items()
                        if k.startswith("eval_rewards/")})
    _save_adapter(trainer.model, adapter)
    _write_card(adapter, {
        "stage": "dpo", "styles": list(styles), "mode": mode, "base_model": identity, "config_hash": config_hash,
        "sft_config_hash": sft.config_hash, "data_digest": data_digest, "pairs_digest": pairs_digest,
        "prompt_version": PROMPT_VERSION, "metrics": metrics, "examples": len(dataset), "seconds": seconds,
        "args": _semantic(args), "reference": "precomputed" if args.precompute_ref_log_probs else "sft-adapter",
    })
    return StageResult(adapter, config_hash, metrics, resumed_from=resume)


def _save_adapter(model, adapter: Path) -> None:
    """Only the trained adapter ("default"); TRL's frozen "ref" copy stays behind."""
    tmp = adapter.with_name(adapter.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(str(tmp), selected_adapters=["default"])
    if adapter.exists():
        shutil.rmtree(adapter)
    tmp.rename(adapter)


# -- marker comparison ------------------------------------------------------------------------------


COMPARE_MARKERS: tuple[str, ...] = (*STYLE_MARKERS, "mattr", "filler_rate", "trailing_off_rate")


def compare_markers(transcripts: Sequence[Transcript], samples: Mapping[str, Sequence[str]], extractor: Any = None):
    """Mean markers of real AD, real HC and each sample group (``"sft:ad"`` -> texts), with a style score.

    ``style_score`` is the position on the AD-HC axis fitted to the real transcripts
    (:class:`augment.style_axis.StyleAxis`): positive is AD-like, negative HC-like.
    """

    groups: dict[str, list[str]] = {
        "real AD": [real_verbatim(t) for t in transcripts if t.label == STYLE_LABEL["ad"]],
        "real HC": [real_verbatim(t) for t in transcripts if t.label == STYLE_LABEL["hc"]],
        **{name: [s for s in texts if s.strip()] for name, texts in samples.items()},
    }
    texts = [t for group in groups.values() for t in group]
    frame = verbatim_markers(texts, extractor)
    frame["group"] = [name for name, group in groups.items() for _ in group]
    axis = StyleAxis.fit(frame[frame.group == "real AD"], frame[frame.group == "real HC"])
    frame["style_score"] = [axis.score(row) for _, row in frame.iterrows()]
    table = frame.groupby("group", sort=False)[[*COMPARE_MARKERS, "style_score"]].mean()
    table.insert(0, "n", frame.groupby("group", sort=False).size())
    return table.reindex(list(groups)).round(4), frame


def plot_comparison(table, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # headless
    import matplotlib.pyplot as plt

    columns = ["style_score", *STYLE_MARKERS]
    fig, axes = plt.subplots(1, len(columns), figsize=(3.0 * len(columns), 0.45 * len(table) + 1.2), sharey=True)
    colours = ["#b2182b" if "AD" in g or g.endswith(":ad") else "#2166ac" if "HC" in g or g.endswith(":hc")
               else "#777777" for g in table.index]
    for ax, column in zip(axes, columns):
        ax.barh(range(len(table)), table[column], color=colours)
        ax.set_title(column, fontsize=9)
        ax.axvline(0, color="black", linewidth=0.5)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(range(len(table)), table.index)
    axes[0].invert_yaxis()
    fig.suptitle("Markers of sampled descriptions vs real transcripts (style_score > 0: AD-like)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# -- the pipeline -----------------------------------------------------------------------------------


def _write_samples(path: Path, samples: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for stage, by_style in samples.items():
            for style, texts in by_style.items():
                for i, text in enumerate(texts):
                    handle.write(json.dumps({"stage": stage, "style": style, "i": i, "text": text}) + "\n")


def train_generators(transcripts: Sequence[Transcript], out_dir: str | Path, config: GeneratorConfig | None = None,
                     *, on_stage: Callable[[str], None] | None = None, extractor: Any = None) -> TrainReport:
    """SFT then DPO of each style adapter on ``transcripts`` (one fold's training speakers).

    ``on_stage`` is called with a short label as each stage starts (the CLI's progress).
    """
    config = config or GeneratorConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    transcripts = [t for t in transcripts if t.label is not None]
    _check_transcripts(transcripts, config.styles, config.sft.min_transcripts)
    base = resolve_base_model(config.base_model)
    identity = base_model_identity(base)
    corpus = Corpus(transcripts)
    data_digest = corpus.digest()
    if extractor is None:
        from detect.markers import MarkerExtractor

        extractor = MarkerExtractor()
    notify = on_stage or (lambda label: None)
    params = {
        "mode": config.mode, "styles": ",".join(config.styles), "base_model": identity["name"],
        "base_digest": identity["digest"], "data_digest": data_digest, "transcripts": len(transcripts),
        "prompt_version": PROMPT_VERSION, "lora": lora_fields(config.lora),
        "sft": _semantic(config.sft), "dpo": _semantic(config.dpo) if config.dpo else "off",
        "pairs": asdict(config.pairs), "sampling": asdict(config.sampling),
    }
    units: dict[str, UnitResult] = {}
    samples_for_table: dict[str, list[str]] = {}
    with _tracking(config, f"generators-{config.mode}", params) as run:
        if config.sampling.base:
            notify("sampling the base model")
            model, tokenizer = _load(base)
            base_styles = config.styles if config.mode == "conditional" else config.styles[:1]
            base_samples = sample_descriptions(model, tokenizer, base_styles, config.mode, config.sampling)
            for style, texts in base_samples.items():
                samples_for_table[f"base:{style}" if config.mode == "conditional" else "base"] = texts
            _write_samples(out_dir / "base_samples.jsonl", {"base": base_samples})
            del model
        for unit, styles in config.units().items():
            unit_dir = out_dir / unit
            with _child(config, unit, {"styles": ",".join(styles)}):
                result = _train_unit(base, transcripts, unit, styles, unit_dir, config, identity=identity,
                                     data_digest=data_digest, extractor=extractor, notify=notify)
            units[unit] = result
            for stage, by_style in result.samples.items():
                for style, texts in by_style.items():
                    samples_for_table[f"{stage}:{style}"] = texts

        notify("comparing markers")
        table, _ = compare_markers(transcripts, samples_for_table, extractor)
        comparison_path = out_dir / "markers.csv"
        table.to_csv(comparison_path)
        plot_path = plot_comparison(table, out_dir / "markers.png")
        report = {
            "units": {name: {"sft": u.sft.metrics, "dpo": u.dpo.metrics if u.dpo else None,
                             "sft_adapter": str(u.sft.adapter), "dpo_adapter": str(u.dpo.adapter) if u.dpo else None}
                      for name, u in units.items()},
            "comparison": json.loads(table.to_json(orient="index")),
            "data_digest": data_digest, "base_model": identity,
        }
        (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        if run is not None:
            import mlflow

            mlflow.log_table(table.reset_index(), artifact_file="markers/markers.json")
            for path in (comparison_path, plot_path, out_dir / "report.json"):
                _log_artifacts(config, path, "markers")
            mlflow.log_metrics({f"style_score/{g.replace(':', '_').replace(' ', '_')}": float(v)
                                for g, v in table["style_score"].items()})
    return TrainReport(out_dir=out_dir, units=units, comparison=table, comparison_path=comparison_path,
                       plot_path=plot_path, run_id=run.info.run_id if run is not None else None)


def _train_unit(base: Path, transcripts: Sequence[Transcript], unit: str, styles: tuple[str, ...], unit_dir: Path,
                config: GeneratorConfig, *, identity: dict[str, str], data_digest: str, extractor: Any,
                notify: Callable[[str], None]) -> UnitResult:
    from peft import PeftModel

    unit_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [_mlflow_callback("sft")] if config.track else []
    notify(f"{unit}: SFT")
    sft = run_sft(base, transcripts, styles, config.mode, config.sft, config.lora, unit_dir, identity=identity,
                  data_digest=data_digest, callbacks=callbacks)
    _log_artifacts(config, sft.adapter, f"adapters/{unit}/sft")
    samples: dict[str, dict[str, list[str]]] = {}

    notify(f"{unit}: sampling after SFT")
    model, tokenizer = _load(base)
    # Merged weights generate at base-model speed; the unmerged adapter adds a matmul per layer.
    model = PeftModel.from_pretrained(model, str(sft.adapter)).merge_and_unload()
    samples["sft"] = sample_descriptions(model, tokenizer, styles, config.mode, config.sampling)
    del model

    dpo = None
    pairs_path = None
    if config.dpo is not None:
        notify(f"{unit}: preference pairs")
        pair_config = PairConfig(**{**asdict(config.pairs), "styles": styles, "mode": config.mode})
        pair_set: PairSet = build_pairs(transcripts, pair_config, samples=samples["sft"], extractor=extractor)
        pairs_path = write_pairs(unit_dir / "pairs.jsonl", pair_set.pairs, pair_set.summary)
        _log_artifacts(config, pairs_path, f"pairs/{unit}")
        _log_artifacts(config, unit_dir / "pairs.summary.json", f"pairs/{unit}")
        if config.track:
            import mlflow

            mlflow.log_metrics({"pairs/total": len(pair_set.pairs),
                                "pairs/dropped_margin": sum(pair_set.summary.dropped_margin.values()),
                                "pairs/dropped_duplicates": pair_set.summary.dropped_duplicates})
        notify(f"{unit}: DPO")
        callbacks = [_mlflow_callback("dpo")] if config.track else []
        dpo = run_dpo(base, sft, pair_set.pairs, styles, config.mode, config.dpo, unit_dir, identity=identity,
                      data_digest=data_digest, callbacks=callbacks)
        _log_artifacts(config, dpo.adapter, f"adapters/{unit}/dpo")
        notify(f"{unit}: sampling after DPO")
        model, tokenizer = _load(base)
        model = PeftModel.from_pretrained(model, str(dpo.adapter)).merge_and_unload()
        samples["dpo"] = sample_descriptions(model, tokenizer, styles, config.mode, config.sampling)
        del model
    if config.track:
        import mlflow

        mlflow.log_metrics({f"sft/final/{k}": v for k, v in sft.metrics.items()})
        if dpo is not None:
            mlflow.log_metrics({f"dpo/final/{k}".replace("/rewards/", "/rewards_"): v for k, v in dpo.metrics.items()})
    _write_samples(unit_dir / "samples.jsonl", samples)
    return UnitResult(name=unit, styles=styles, sft=sft, dpo=dpo, pairs_path=pairs_path, samples=samples)
