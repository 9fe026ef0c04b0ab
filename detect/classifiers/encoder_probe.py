"""Frozen-encoder features for the BERT probe: mean-pooled middle layers, computed once per text.

Why a probe: fine-tuning MiniLM costs minutes per fit on 2 CPU cores (bench-results/README.md,
B12) and the benchmark fits one detector per cell (39 cells per classifier in the demo). A
text's hidden states do not depend on the fold, so they are computed once per process and
shared by every cell (as the markers baseline shares its spaCy parses); only a
logistic-regression head is fit per cell. The middle layers carry more of what separates AD
from HC speech than the last one (the recipe search, ``bench/bench_bert_recipe.py``, measures it).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detect.hashing import digest

logger = logging.getLogger(__name__)

# Bounds the shared cache: 20k texts x 3 layers x 384 floats is ~90 MB for MiniLM.
CACHE_TEXTS = 20_000


def token_windows(
    tokenizer: Any, texts: Sequence[str], *, max_length: int, stride: int, keep_per_text: int
) -> tuple[list[dict[str, list[int]]], np.ndarray, np.ndarray]:
    """Token windows of each text (overlapping by ``stride``), the text index of each window,
    and which texts had more than ``keep_per_text`` windows (those are cut, and counted)."""
    enc = tokenizer(
        list(texts),
        truncation=True,
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_attention_mask=True,
    )
    owner = np.asarray(enc["overflow_to_sample_mapping"], dtype=int)
    windows, owners, seen = [], [], np.zeros(len(texts), dtype=int)
    for i, text_index in enumerate(owner):
        if seen[text_index] < keep_per_text:
            windows.append({"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i]})
            owners.append(text_index)
        seen[text_index] += 1
    return windows, np.asarray(owners, dtype=int), seen > keep_per_text


def probe_layer_indices(fractions: Sequence[float], n_layers: int) -> tuple[int, ...]:
    """Hidden-state indices (1 = first layer's output) at these fractions of the encoder's depth,
    so one recipe fits a 6-layer MiniLM (1/3, 1/2, 2/3 -> 2, 3, 4) and a 12-layer BERT (4, 6, 8)."""
    return tuple(sorted({min(n_layers, max(1, round(f * n_layers))) for f in fractions}))


class FrozenEncoder:
    """An encoder folder loaded once (GPU when there is one), with a per-text feature cache."""

    def __init__(self, folder: Path):
        import torch
        from transformers import AutoModel, AutoTokenizer

        from detect.logs import quiet_transformers

        self.folder = folder
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        with quiet_transformers():
            self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model.to(self.device)
        self.n_layers = int(self.model.config.num_hidden_layers)
        # text key -> (feature row, whether the text was cut): a cached text still reports its cut.
        self._cache: dict[str, tuple[np.ndarray, bool]] = {}

    def features(
        self,
        texts: Sequence[str],
        *,
        layers: tuple[int, ...],
        max_length: int,
        stride: int,
        keep_per_text: int,
        batch_size: int,
    ) -> tuple[np.ndarray, int]:
        """(n, len(layers) * hidden) mean-pooled features per text, and how many texts were cut."""
        settings = (layers, max_length, stride, keep_per_text)
        keys = [digest(repr((settings, text))) for text in texts]
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._cache}.items())
        if todo:
            fresh, was_cut = self._encode(
                [t for _, t in todo],
                layers=layers,
                max_length=max_length,
                stride=stride,
                keep_per_text=keep_per_text,
                batch_size=batch_size,
            )
            if len(self._cache) + len(todo) > CACHE_TEXTS:
                self._cache.clear()
            self._cache.update({k: (row, bool(c)) for (k, _), row, c in zip(todo, fresh, was_cut, strict=True)})
        rows = [self._cache[k] for k in keys]
        return np.stack([row for row, _ in rows]), int(sum(c for _, c in rows))

    def _encode(
        self,
        texts: list[str],
        *,
        layers: tuple[int, ...],
        max_length: int,
        stride: int,
        keep_per_text: int,
        batch_size: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        import torch
        from transformers import DataCollatorWithPadding

        windows, owner, was_cut = token_windows(
            self.tokenizer, texts, max_length=max_length, stride=stride, keep_per_text=keep_per_text
        )
        collate = DataCollatorWithPadding(self.tokenizer)
        # Similar lengths share a batch, so little compute goes to padding.
        order = np.argsort([len(w["input_ids"]) for w in windows], kind="stable")
        pooled = np.empty((len(windows), len(layers) * int(self.model.config.hidden_size)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = {k: v.to(self.device) for k, v in collate([windows[i] for i in idx]).items()}
                hidden = self.model(**batch, output_hidden_states=True).hidden_states
                mask = batch["attention_mask"].unsqueeze(-1).float()
                means = [(hidden[layer] * mask).sum(1) / mask.sum(1) for layer in layers]
                pooled[idx] = torch.cat(means, dim=-1).float().cpu().numpy()
        # A long text's feature is the mean over its windows.
        sums = np.zeros((len(texts), pooled.shape[1]), dtype=np.float64)
        np.add.at(sums, owner, pooled)
        return (sums / np.bincount(owner, minlength=len(texts))[:, None]).astype(np.float32), was_cut


@functools.lru_cache(maxsize=2)
def frozen_encoder(folder: str) -> FrozenEncoder:
    """One loaded encoder per folder for the process: every benchmark cell reuses it and its cache."""
    return FrozenEncoder(Path(folder))
