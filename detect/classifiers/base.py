"""The one contract every AD detector keeps, and the folder format it saves to.

A detector is a scikit-learn classifier (``get_params``, ``clone``, ``fit(X, y=None)``,
``predict_proba`` with ``classes_ = [0, 1]``, 1 = AD) whose ``X`` is a list of
transcripts or plain texts. It saves to a folder holding ``detector.json`` (which
detector, its parameters under ``config``) beside its own payload, so
:func:`detect.classifiers.load_detector` can reload any of them without being told the kind.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

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


def labels_of(transcripts: Sequence[Transcript]) -> np.ndarray:
    """1 = AD, 0 = HC; a fit on unlabelled data is a caller's bug, so it raises."""
    missing = [t.id for t in transcripts if t.label is None]
    if missing:
        raise ValueError(f"{len(missing)} training transcript(s) have no label, e.g. {missing[0]!r}")
    return np.array([1 if t.label == Label.AD else 0 for t in transcripts], dtype=int)


def as_transcripts(X: Iterable[Transcript | str]) -> list[Transcript]:
    """Transcripts as they are; plain strings read as verbatim speech (fillers, '...')."""
    items = list(X)
    transcripts = [x for x in items if isinstance(x, Transcript)]
    if len(transcripts) == len(items):
        return transcripts
    from detect.markers import verbatim_transcript

    return [x if isinstance(x, Transcript) else verbatim_transcript(str(x), id=f"x{i}") for i, x in enumerate(items)]


def params_to_json(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON gives them back (tuples become lists), for manifests and MLflow."""
    return json.loads(json.dumps(params, default=str))


class DetectorMixin(ClassifierMixin, BaseEstimator):
    """What every AD detector shares: a scikit-learn classifier over transcripts (or texts).

    Subclasses take their parameters as keyword-only ``__init__`` arguments and store them
    untouched, declare ``_parameter_constraints``, and implement ``_fit(X, y)``,
    ``predict_proba(X)``, ``_save_payload(folder)`` and ``_load_payload(folder)``. Labels:
    1 = AD, 0 = HC; ``y`` defaults to the transcripts' own labels.
    """

    name: ClassVar[str]

    def fit(self, X: Sequence[Transcript | str], y: Any = None) -> Self:
        self._validate_params()
        X = as_transcripts(X)
        y = labels_of(X) if y is None else np.asarray(y, dtype=int)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} transcripts but y has {len(y)} labels")
        if len(np.unique(y)) < 2:
            raise ValueError("the training set holds one class only; a detector needs both AD and HC")
        self._fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def _fit(self, X: list[Transcript], y: np.ndarray) -> None:
        raise NotImplementedError

    def predict_proba(self, X: Sequence[Transcript | str]) -> np.ndarray:
        raise NotImplementedError

    def p_ad(self, X: Sequence[Transcript | str]) -> np.ndarray:
        """P(AD) per transcript: the second column of :meth:`predict_proba`."""
        return self.predict_proba(X)[:, 1]

    def predict(self, X: Sequence[Transcript | str]) -> np.ndarray:
        """1 (AD) where P(AD) >= 0.5, else 0 (HC)."""
        return (self.p_ad(X) >= 0.5).astype(int)

    def save(self, directory: str | Path) -> Path:
        """The fitted detector as a folder: ``detector.json`` (kind, parameters) and its payload."""
        check_is_fitted(self)
        out = write_manifest(directory, self.name, self.get_params(), **self._manifest_extra())
        self._save_payload(out)
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        manifest = read_manifest(directory)
        if manifest["detector"] != cls.name:
            raise ModelFolderError(directory, f"holds a {manifest['detector']!r} detector, not {cls.name!r}")
        known = cls._get_param_names()
        dropped = sorted(set(manifest["config"]) - set(known))
        if dropped:  # written by an older version; these options are gone
            logger.warning("%s: ignoring retired option(s) %s", directory, dropped)
        detector = cls(**{k: v for k, v in manifest["config"].items() if k in known})
        detector.classes_ = np.array([0, 1])
        detector._load_payload(Path(directory), manifest)
        return detector

    def _manifest_extra(self) -> dict[str, Any]:
        return {}

    def _save_payload(self, folder: Path) -> None:
        raise NotImplementedError

    def _load_payload(self, folder: Path, manifest: dict[str, Any]) -> None:
        raise NotImplementedError


@runtime_checkable
class Detector(Protocol):
    """Fit on transcripts, score P(AD), save to and load from a folder."""

    name: ClassVar[str]

    def fit(self, X: Sequence[Transcript | str], y: Any = None) -> Self: ...

    def predict_proba(self, X: Sequence[Transcript | str]) -> np.ndarray: ...

    def predict(self, X: Sequence[Transcript | str]) -> np.ndarray: ...

    def p_ad(self, X: Sequence[Transcript | str]) -> np.ndarray: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def save(self, directory: str | Path) -> Path: ...

    @classmethod
    def load(cls, directory: str | Path) -> Self: ...


def write_manifest(directory: str | Path, name: str, params: dict[str, Any], **extra: Any) -> Path:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT_VERSION, "detector": name, "config": params_to_json(params), **extra}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return out


def read_manifest(directory: str | Path) -> dict[str, Any]:
    folder = Path(directory)
    if not folder.exists():
        raise ModelFolderError(
            folder,
            "model folder does not exist",
            fix="pass a folder written by `cookiebench detect train --out` or an MLflow run id",
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
        raise ModelFolderError(
            path, f"written by a newer cookiebench (format {manifest['format']})", fix="upgrade cookiebench"
        )
    return manifest
