"""The one contract every AD detector keeps, and the folder format it saves to.

A detector is fitted on transcripts and returns P(AD) per transcript; it saves to a folder
holding ``detector.json`` (which detector, its config) beside its own payload, so
:func:`detect.classifiers.load_detector` can reload any of them without being told the kind.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np

from detect.errors import UserError
from detect.records import Label, Transcript

logger = logging.getLogger(__name__)

MANIFEST = "detector.json"
FORMAT_VERSION = 1


class ModelFolderError(UserError):
    """A model folder that is missing, unreadable, or not a classifier. Renders as one line."""

    def __init__(self, path: str | Path, problem: str, *, fix: str = ""):
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        message = f"{self.path}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


@runtime_checkable
class Detector(Protocol):
    """Fit on transcripts, score P(AD), save to and load from a folder."""

    name: ClassVar[str]
    config: Any

    def fit(self, train: Sequence[Transcript]) -> Self: ...

    def predict_proba(self, transcripts: Sequence[Transcript]) -> np.ndarray: ...

    def save(self, directory: str | Path) -> Path: ...

    @classmethod
    def load(cls, directory: str | Path) -> Self: ...


def labels_of(transcripts: Sequence[Transcript]) -> np.ndarray:
    """1 = AD, 0 = HC; a fit on unlabelled or one-class data is a caller's bug, so it raises."""
    missing = [t.id for t in transcripts if t.label is None]
    if missing:
        raise ValueError(f"{len(missing)} training transcript(s) have no label, e.g. {missing[0]!r}")
    y = np.array([1 if t.label == Label.AD else 0 for t in transcripts], dtype=int)
    if len(np.unique(y)) < 2:
        raise ValueError("the training set holds one class only; a detector needs both AD and HC")
    return y


def config_to_dict(config: Any) -> dict[str, Any]:
    data = asdict(config)
    # tuples become lists in JSON; the dataclasses turn them back in __post_init__.
    return json.loads(json.dumps(data))


def config_from_dict(config_cls: type, data: dict[str, Any], *, source: str = "config") -> Any:
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{source}: unknown option(s) {unknown} for {config_cls.__name__}; known: {sorted(known)}")
    return config_cls(**data)


def write_manifest(directory: str | Path, name: str, config: Any, **extra: Any) -> Path:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT_VERSION, "detector": name, "config": config_to_dict(config), **extra}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return out


def read_manifest(directory: str | Path) -> dict[str, Any]:
    folder = Path(directory)
    if not folder.exists():
        raise ModelFolderError(
            folder, "model folder does not exist", fix="pass a folder written by `cookiebench detect train --out` or an MLflow run id"
        )
    if not folder.is_dir():
        raise ModelFolderError(folder, "is a file, not a model folder", fix="pass the folder that holds detector.json")
    path = folder / MANIFEST
    if not path.exists():
        raise ModelFolderError(
            folder,
            f"not a cookiebench detector (no {MANIFEST})",
            fix="train one with `cookiebench detect train --out DIR`, or pass an MLflow run id",
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFolderError(path, f"unreadable manifest: {exc}", fix="retrain the detector") from exc
    if not isinstance(manifest, dict) or "detector" not in manifest or "config" not in manifest:
        raise ModelFolderError(path, "manifest lacks 'detector'/'config'", fix="retrain the detector")
    if manifest.get("format", 0) > FORMAT_VERSION:
        raise ModelFolderError(path, f"written by a newer cookiebench (format {manifest['format']})", fix="upgrade cookiebench")
    return manifest
