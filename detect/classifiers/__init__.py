"""AD detectors behind one contract, built by name and reloaded from their folders.

>>> from detect.classifiers import make_detector, DETECTORS
>>> sorted(DETECTORS)
['bert', 'majority', 'markers', 'tfidf']
>>> make_detector("tfidf", {"C": 2.0}).config.C
2.0
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from detect.classifiers.base import Detector, ModelFolderError, config_from_dict, read_manifest
from detect.classifiers.bert import BertConfig, BertDetector, check_classifier_folder, default_model_path
from detect.classifiers.sklearn_models import (
    MajorityConfig,
    MajorityDetector,
    MarkersConfig,
    MarkersDetector,
    TfidfConfig,
    TfidfDetector,
)

DETECTORS: dict[str, type] = {
    BertDetector.name: BertDetector,
    TfidfDetector.name: TfidfDetector,
    MarkersDetector.name: MarkersDetector,
    MajorityDetector.name: MajorityDetector,
}


def config_class(name: str) -> type:
    if name not in DETECTORS:
        raise ValueError(f"unknown classifier {name!r}; choose from {sorted(DETECTORS)}")
    return DETECTORS[name].config_cls


def make_config(name: str, config: Any = None, **overrides: Any) -> Any:
    """A validated config for detector ``name`` from None, a mapping, or a config instance, plus overrides."""
    cls = config_class(name)
    if config is None:
        config = cls()
    elif isinstance(config, Mapping):
        config = config_from_dict(cls, dict(config), source=f"{name} config")
    elif not isinstance(config, cls):
        raise TypeError(f"{name} takes a {cls.__name__} or a mapping, got {type(config).__name__}")
    return replace(config, **overrides) if overrides else config


def make_detector(name: str, config: Any = None, **overrides: Any) -> Detector:
    """A fresh, unfitted detector of kind ``name`` ("bert", "tfidf", "markers", "majority")."""
    config = make_config(name, config, **overrides)
    return DETECTORS[name](config)


def preflight(name: str, config: Any = None) -> Any:
    """Validate what can be checked before any training: the config, and a BERT model folder.

    Returns the validated config. Raises ModelFolderError / ValueError with one-line messages.
    """
    config = make_config(name, config)
    if name == BertDetector.name:
        check_classifier_folder(config.model_name_or_path or default_model_path())
    return config


def load_detector(directory: str | Path) -> Detector:
    """Reload any saved detector; the folder's ``detector.json`` says which kind."""
    manifest = read_manifest(directory)
    name = manifest["detector"]
    if name not in DETECTORS:
        raise ModelFolderError(directory, f"unknown detector kind {name!r}", fix=f"known kinds: {sorted(DETECTORS)}")
    return DETECTORS[name].load(directory)


def load_config_file(name: str, path: str | Path) -> Any:
    """A config for ``name`` from a JSON or YAML file of field values."""
    text = Path(path).read_text()
    if str(path).endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of {config_class(name).__name__} fields")
    return make_config(name, data)


def config_help(name: str) -> dict[str, str]:
    """Field name -> help text, for command-line listings."""
    cls = config_class(name)
    assert is_dataclass(cls)
    return {f.name: f.metadata.get("help", "") for f in fields(cls)}


__all__ = [
    "DETECTORS",
    "BertConfig",
    "BertDetector",
    "Detector",
    "MajorityConfig",
    "MajorityDetector",
    "MarkersConfig",
    "MarkersDetector",
    "ModelFolderError",
    "TfidfConfig",
    "TfidfDetector",
    "config_class",
    "config_help",
    "load_config_file",
    "load_detector",
    "make_config",
    "make_detector",
    "preflight",
]
