"""The two training stages of a style adapter, with TRL: SFT, then DPO continuing it.

Each stage has a config beside its trainer (:class:`CookieSFTConfig`,
:class:`CookieDPOConfig`: TRL's own, with defaults for LoRA on a 135M model on a CPU) and
one function that trains it (:func:`run_sft`, :func:`run_dpo`). A stage whose adapter
was already trained with the same config and data is skipped (:mod:`augment.adapters`
holds the cache key and the card); an interrupted one resumes from its last checkpoint.

DPO's reference is the SFT policy without a second copy of the model: TRL copies the SFT
adapter into a frozen ``ref`` adapter on the same base weights (a few MB), or, with
``precompute_ref_log_probs``, scores all pairs with it once before training.
"""

from __future__ import annotations

import copy
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

from pydantic import ConfigDict, with_config
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback
from trl import DPOConfig, SFTConfig

from augment.adapters import cached_meta, lora_fields, read_meta, save_adapter, training_fields, write_card
from augment.base_model import load_base_model
from augment.prompts import (
    PROMPT_VERSION,
    STYLE_LABEL,
    Instruction,
    Mode,
    PromptDesign,
    SceneForm,
    Style,
    completion_messages,
    real_lengths,
    spoken_words,
    task_messages,
)
from detect.errors import UserError, one_line
from detect.hashing import digest
from detect.logs import FILE_ONLY
from detect.markers import real_verbatim
from detect.records import Transcript

logger = logging.getLogger(__name__)


class GeneratorError(UserError):
    """Generators cannot be trained from the given input (too few transcripts or pairs, ...)."""


# -- configs ----------------------------------------------------------------------------------------


@with_config(ConfigDict(extra="forbid"))  # a benchmark YAML's unknown key is an error, not ignored
@dataclass
class CookieSFTConfig(SFTConfig):
    r"""TRL's :class:`~trl.SFTConfig` with defaults that fit LoRA SFT of a 135M model on a CPU in minutes.

    Adds only ``min_transcripts``. LoRA arrives separately, as a ``peft.LoraConfig``.
    """

    # Overridden defaults (model / data)
    max_length: int | None = field(
        default=320, metadata={"help": "Tokens per example (prompt + description); longer ones are cut."}
    )
    # Overridden defaults (training): LoRA wants a much larger step than full fine-tuning.
    learning_rate: float = field(default=2e-4, metadata={"help": "AdamW learning rate for the LoRA weights."})
    num_train_epochs: float = field(default=2.0, metadata={"help": "Passes over the style's transcripts."})
    per_device_train_batch_size: int = field(default=4, metadata={"help": "Transcripts per step."})
    lr_scheduler_type: str = field(default="constant_with_warmup", metadata={"help": "Learning-rate schedule."})
    warmup_steps: float = field(default=2, metadata={"help": "Warm-up steps."})
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute activations (slower; a 135M model does not need it)."}
    )
    bf16: bool = field(default=False, metadata={"help": "bf16 mixed precision (off: CPUs are often slower in it)."})
    # Overridden defaults (logging / checkpoints)
    logging_steps: float = field(default=1, metadata={"help": "Log every n steps (curves need points)."})
    disable_tqdm: bool | None = field(
        default=True,
        metadata={"help": "No trainer progress bar: the caller's display owns the console, steps go to the log."},
    )
    save_strategy: str = field(default="steps", metadata={"help": "When to checkpoint (resume needs checkpoints)."})
    save_steps: float = field(default=10, metadata={"help": "Checkpoint every n steps."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept."})
    report_to: str | list[str] | None = field(
        default="none", metadata={"help": "Integrations; MLflow is logged by cookiebench itself."}
    )
    # Ours
    min_transcripts: int = field(default=8, metadata={"help": "Fewer transcripts of a style than this is an error."})
    # The prompt design the adapter learns and is later asked with (augment.prompts.PromptDesign; the card
    # carries it to generation): here because it is what SFT trains on, and changes the weights.
    prompt_instruction: Instruction = field(
        default=PromptDesign.instruction,
        metadata={
            "help": "fixed: the BDAE's instruction; varied: one of the examiners' wordings per transcript / record.",
            "choices": list(get_args(Instruction)),
        },
    )
    prompt_scene: SceneForm = field(
        default=PromptDesign.scene,
        metadata={
            "help": "prose: the scene as prose; keywords: its information units as terse keywords, shuffled per "
            "record.",
            "choices": list(get_args(SceneForm)),
        },
    )
    prompt_length: bool = field(
        default=PromptDesign.length,
        metadata={
            "help": "Ask for a length in words: the transcript's own in training, one drawn from the style's real "
            "training transcripts per generated record."
        },
    )

    def __post_init__(self):
        super().__post_init__()
        if self.min_transcripts < 1:
            raise ValueError(f"min_transcripts must be >= 1, got {self.min_transcripts}")
        self.prompt_design()  # an unknown instruction or scene form fails here, naming the field

    def prompt_design(self) -> PromptDesign:
        """The :class:`~augment.prompts.PromptDesign` these fields describe."""
        try:
            return PromptDesign(instruction=self.prompt_instruction, scene=self.prompt_scene, length=self.prompt_length)
        except ValueError as error:
            raise ValueError(f"prompt_instruction / prompt_scene: {one_line(error)}") from None


@with_config(ConfigDict(extra="forbid"))
@dataclass
class CookieDPOConfig(DPOConfig):
    r"""TRL's :class:`~trl.DPOConfig` with CPU-friendly defaults for DPO of an SFT LoRA adapter.

    Adds ``min_pairs`` and ``score_pairs``. ``precompute_ref_log_probs`` (TRL's) scores every
    pair with the reference once before training instead of at each step.
    """

    max_length: int | None = field(
        default=320, metadata={"help": "Tokens per prompt + description; longer ones are cut."}
    )
    learning_rate: float = field(default=5e-5, metadata={"help": "AdamW learning rate for the LoRA weights."})
    beta: float = field(default=0.1, metadata={"help": "Deviation penalty from the reference (the SFT policy)."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Passes over the pairs."})
    per_device_train_batch_size: int = field(default=4, metadata={"help": "Pairs per step."})
    per_device_eval_batch_size: int = field(default=8, metadata={"help": "Pairs per batch when scoring."})
    lr_scheduler_type: str = field(default="constant_with_warmup", metadata={"help": "Learning-rate schedule."})
    warmup_steps: float = field(default=2, metadata={"help": "Warm-up steps."})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Recompute activations."})
    bf16: bool = field(default=False, metadata={"help": "bf16 mixed precision."})
    logging_steps: float = field(default=1, metadata={"help": "Log every n steps."})
    disable_tqdm: bool | None = field(default=True, metadata={"help": "No trainer progress bar (steps go to the log)."})
    save_strategy: str = field(default="steps", metadata={"help": "When to checkpoint."})
    save_steps: float = field(default=10, metadata={"help": "Checkpoint every n steps."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept."})
    report_to: str | list[str] | None = field(
        default="none", metadata={"help": "Integrations; MLflow is logged by cookiebench itself."}
    )
    # Ours
    min_pairs: int = field(default=8, metadata={"help": "Fewer pairs than this after filtering is an error."})
    score_pairs: int = field(
        default=32, metadata={"help": "Training pairs scored before and after DPO (reward accuracy, margin); 0: skip."}
    )

    def __post_init__(self):
        super().__post_init__()
        if self.min_pairs < 1:
            raise ValueError(f"min_pairs must be >= 1, got {self.min_pairs}")
        if self.score_pairs < 0:
            raise ValueError(f"score_pairs must be >= 0, got {self.score_pairs}")


def default_lora_config(
    r: int = 16,
    alpha: int = 32,
    dropout: float = 0.05,
    target_modules: Sequence[str] = ("q_proj", "k_proj", "v_proj", "o_proj"),
):
    """The LoRA used when none is given: attention projections of every layer (its arguments' defaults
    are the LoRA defaults, ``augment train --lora-r/--lora-alpha`` included)."""
    from peft import LoraConfig

    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )


@dataclass
class StageResult:
    adapter: Path
    config_hash: str
    metrics: dict[str, float]
    cached: bool = False
    resumed_from: str | None = None


# -- data -------------------------------------------------------------------------------------------


def sft_dataset(
    transcripts: Sequence[Transcript], styles: Sequence[Style], mode: Mode, design: PromptDesign | None = None
):
    """Conversational prompt/completion rows: the style's task prompt, a real verbatim description.

    With a varied ``design`` each row's prompt is drawn for its transcript (keyed by its id) and
    asks, when the design says so, for the transcript's own length."""
    from datasets import Dataset

    rows = [
        {
            "prompt": task_messages(style, mode, design, key=t.id, words=spoken_words(real_verbatim(t))),
            "completion": completion_messages(real_verbatim(t)),
        }
        for style in styles
        for t in transcripts
        if t.label == STYLE_LABEL[style] and real_verbatim(t).strip()
    ]
    return Dataset.from_list(rows)


def prompt_card(design: PromptDesign, transcripts: Sequence[Transcript], styles: Sequence[Style]) -> dict[str, Any]:
    """What generation needs to ask an adapter as it was trained: the design, and each style's real
    lengths in words (of the training transcripts: no test speaker's), which a design that asks for a
    length and sampling's ``length_spread`` draw from."""
    return {"design": asdict(design), "lengths": {style: list(real_lengths(transcripts, style)) for style in styles}}


def dpo_dataset(pairs: Sequence[Any]):
    """Conversational preference rows (prompt messages, chosen and rejected assistant turns)."""
    from datasets import Dataset

    return Dataset.from_list(
        [
            {"prompt": p.prompt, "chosen": completion_messages(p.chosen), "rejected": completion_messages(p.rejected)}
            for p in pairs
        ]
    )


# -- stages -----------------------------------------------------------------------------------------


class _StepLog(TrainerCallback):
    """Each trainer log (loss, rewards, learning rate) as one log line for the log file, not
    ``print()`` on the console, which belongs to the caller's progress display."""

    def __init__(self, stage: str):
        self.stage = stage

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs:
            shown = {k: round(v, 5) if isinstance(v, float) else v for k, v in logs.items()}
            logger.info("%s step %d: %s", self.stage, state.global_step, shown, extra=FILE_ONLY)


def sft_hash(
    args: CookieSFTConfig, lora: Any, *, mode: Mode, styles: Sequence[str], identity: dict[str, str], data_digest: str
) -> str:
    """The SFT adapter's cache key: everything that can change its weights (see :mod:`augment.adapters`)."""
    return digest(
        {
            "stage": "sft",
            "args": training_fields(args),
            "lora": lora_fields(lora),
            "mode": mode,
            "styles": list(styles),
            "prompt": PROMPT_VERSION,
            "base": identity,
            "data": data_digest,
        }
    )


def dpo_hash(args: CookieDPOConfig, *, sft_hash: str, pairs_digest: str) -> str:
    """The DPO adapter's cache key: the SFT adapter it continues, the pairs, every weight-changing field."""
    return digest({"stage": "dpo", "sft": sft_hash, "args": training_fields(args), "pairs": pairs_digest})


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


def run_sft(
    base: Path,
    transcripts: Sequence[Transcript],
    styles: Sequence[Style],
    mode: Mode,
    args: CookieSFTConfig,
    lora: Any,
    unit_dir: Path,
    *,
    identity: dict[str, str],
    data_digest: str,
    callbacks: Sequence[Any] = (),
) -> StageResult:
    """LoRA SFT on the styles' transcripts; returns the saved adapter (cached when config and data match)."""
    from trl import SFTTrainer

    stage_dir = unit_dir / "sft"
    adapter = stage_dir / "adapter"
    config_hash = sft_hash(args, lora, mode=mode, styles=styles, identity=identity, data_digest=data_digest)
    meta = cached_meta(adapter, config_hash)
    if meta:
        logger.info("SFT %s: cached adapter %s", "+".join(styles), adapter)
        return StageResult(adapter, config_hash, meta.get("metrics", {}), cached=True)

    resume = _prepare_stage_dir(stage_dir, config_hash)
    design = args.prompt_design()
    dataset = sft_dataset(transcripts, styles, mode, design)
    model, tokenizer = load_base_model(base)
    trainer = SFTTrainer(
        model=model,
        args=replace(args, output_dir=str(stage_dir / "checkpoints")),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=copy.deepcopy(lora),  # PEFT mutates it
        callbacks=[*callbacks, _StepLog("SFT")],
    )
    trainer.remove_callback(PrinterCallback)  # print()s every step's dict; _StepLog logs it instead
    start = time.perf_counter()
    if resume:
        logger.info("SFT %s: resuming from %s", "+".join(styles), resume)
    output = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - start
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    metrics = {"train_loss": float(output.training_loss), "steps": float(trainer.state.global_step)}
    if losses:
        metrics.update(first_loss=float(losses[0]), final_loss=float(losses[-1]))
    save_adapter(trainer.model, adapter)
    write_card(
        adapter,
        {
            "stage": "sft",
            "styles": list(styles),
            "mode": mode,
            "base_model": identity,
            "config_hash": config_hash,
            "data_digest": data_digest,
            "prompt_version": PROMPT_VERSION,
            "metrics": metrics,
            "examples": len(dataset),
            "seconds": seconds,
            "lora": lora_fields(lora),
            "args": training_fields(args),
            "prompt": prompt_card(design, transcripts, styles),
        },
    )
    return StageResult(adapter, config_hash, metrics, resumed_from=resume)


def run_dpo(
    base: Path,
    sft: StageResult,
    pairs: Sequence[Any],
    styles: Sequence[str],
    mode: Mode,
    args: CookieDPOConfig,
    unit_dir: Path,
    *,
    identity: dict[str, str],
    data_digest: str,
    callbacks: Sequence[Any] = (),
) -> StageResult:
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
    config_hash = dpo_hash(args, sft_hash=sft.config_hash, pairs_digest=pairs_digest)
    meta = cached_meta(adapter, config_hash)
    if meta:
        logger.info("DPO %s: cached adapter %s", "+".join(styles), adapter)
        return StageResult(adapter, config_hash, meta.get("metrics", {}), cached=True)

    resume = _prepare_stage_dir(stage_dir, config_hash)
    dataset = dpo_dataset(pairs)
    model, tokenizer = load_base_model(base)
    # is_trainable: DPO goes on training the SFT adapter; TRL copies it into a frozen "ref"
    # adapter on the same base weights, so the reference costs adapter-sized memory only.
    model = PeftModel.from_pretrained(model, str(sft.adapter), is_trainable=True)
    n_score = min(args.score_pairs, len(dataset))
    score_set = dataset.select(range(n_score)) if n_score else None
    trainer = DPOTrainer(
        model=model,
        ref_model=None,
        args=replace(args, output_dir=str(stage_dir / "checkpoints")),
        train_dataset=dataset,
        eval_dataset=score_set,
        processing_class=tokenizer,
        callbacks=[*callbacks, _StepLog("DPO")],
    )
    trainer.remove_callback(PrinterCallback)
    metrics: dict[str, float] = {}
    if score_set is not None and not resume:
        metrics.update(
            {
                f"step0_{k.removeprefix('eval_')}": float(v)
                for k, v in trainer.evaluate().items()
                if k.startswith("eval_rewards/")
            }
        )
    start = time.perf_counter()
    if resume:
        logger.info("DPO %s: resuming from %s", "+".join(styles), resume)
    output = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - start
    metrics.update(
        train_loss=float(output.training_loss),
        steps=float(trainer.state.global_step),
        pairs_per_second=float(len(dataset) * args.num_train_epochs / seconds)
        if args.max_steps <= 0
        else float(trainer.state.global_step * args.per_device_train_batch_size / seconds),
    )
    if score_set is not None:
        metrics.update(
            {
                f"final_{k.removeprefix('eval_')}": float(v)
                for k, v in trainer.evaluate().items()
                if k.startswith("eval_rewards/")
            }
        )
    save_adapter(trainer.model, adapter)
    write_card(
        adapter,
        {
            "stage": "dpo",
            "styles": list(styles),
            "mode": mode,
            "base_model": identity,
            "config_hash": config_hash,
            "sft_config_hash": sft.config_hash,
            "data_digest": data_digest,
            "pairs_digest": pairs_digest,
            "prompt_version": PROMPT_VERSION,
            "metrics": metrics,
            "examples": len(dataset),
            "seconds": seconds,
            "args": training_fields(args),
            "reference": "precomputed" if args.precompute_ref_log_probs else "sft-adapter",
            "prompt": (read_meta(sft.adapter) or {}).get("prompt"),  # asked as SFT taught it
        },
    )
    return StageResult(adapter, config_hash, metrics, resumed_from=resume)
