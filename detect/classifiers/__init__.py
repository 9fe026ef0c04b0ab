"""AD detectors: scikit-learn classifiers over transcripts, built by name and reloaded from their folders.

>>> from detect.classifiers import make_detector, DETECTORS
>>> sorted(DETECTORS)
['bert', 'majority', 'markers', 'tfidf']
>>> make_detector("tfidf", {"C": 2.0}).get_params()["C"]
2.0
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from detect.classifiers.base import Detector, DetectorMixin, ModelFolderError, read_manifest
from detect.classifiers.bert import BertDetector, check_classifier_folder, default_model_path
from detect.classifiers.sklearn_models import MajorityDetector, MarkersDetector, TfidfDetector

DETECTORS: dict[str, type[DetectorMixin]] = {
    BertDetector.name: BertDetector,
    TfidfDetector.name: TfidfDetector,
    MarkersDetector.name: MarkersDetector,
    MajorityDetector.name: MajorityDetector,
}


def detector_class(name: str) -> type[DetectorMixin]:
    if name not in DETECTORS:
        raise ValueError(f"unknown classifier {name!r}; choose from {sorted(DETECTORS)}")
    return DETECTORS[name]


def make_detector(name: str, options: Mapping[str, Any] | None = None, **overrides: Any) -> DetectorMixin:
    """A fresh, unfitted detector of kind ``name`` ("bert", "tfidf", "markers", "majority").

    ``options`` and ``overrides`` are its parameters; an unknown one is a ``ValueError``
    naming it. Values are checked at ``fit`` (or earlier by :func:`preflight`).
    """
    cls = detector_class(name)
    params = {**(options or {}), **overrides}
    known = cls._get_param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for {name}; known: {known}")
    return cls(**params)


def preflight(name: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check what can be checked before any training: every parameter, and a BERT model folder.

    Returns the detector's full parameters. Raises ModelFolderError / ValueError with one-line messages.
    """
    detector = make_detector(name, options)
    detector._validate_params()
    if name == BertDetector.name:
        check_classifier_folder(detector.model_name_or_path or default_model_path())
    return detector.get_params()


def load_detector(directory: str | Path) -> DetectorMixin:
    """Reload any saved detector; the folder's ``detector.json`` says which kind."""
    manifest = read_manifest(directory)
    name = manifest["detector"]
    if name not in DETECTORS:
        raise ModelFolderError(directory, f"unknown detector kind {name!r}", fix=f"known kinds: {sorted(DETECTORS)}")
    return DETECTORS[name].load(directory)


def load_options_file(path: str | Path) -> dict[str, Any]:
    """Detector parameters from a JSON or YAML file holding one mapping."""
    text = Path(path).read_text()
    if str(path).endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of detector parameters")
    return data


__all__ = [
    "DETECTORS",
    "BertDetector",
    "Detector",
    "MajorityDetector",
    "MarkersDetector",
    "ModelFolderError",
    "TfidfDetector",
    "detector_class",
    "load_detector",
    "load_options_file",
    "make_detector",
    "preflight",
]
