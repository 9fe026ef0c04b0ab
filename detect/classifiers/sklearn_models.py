"""Classic baselines as scikit-learn Pipelines over transcripts: TF-IDF, linguistic markers, majority.

Each pipeline takes a list of :class:`~detect.records.Transcript` as ``X``, so every fitted
step (vectorizer, scaler, imputer) learns from the fold's training transcripts only.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import joblib
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted

from detect.classifiers.base import (
    ModelFolderError,
    config_from_dict,
    labels_of,
    read_manifest,
    write_manifest,
)
from detect.records import Transcript

logger = logging.getLogger(__name__)

PIPELINE_FILE = "pipeline.joblib"
CLASS_WEIGHTS = ("balanced", "none")


def transcript_texts(transcripts: Sequence[Transcript]) -> list[str]:
    """Module-level (not a lambda) so a fitted pipeline pickles."""
    return [t.text for t in transcripts]


class MarkerFeatures(TransformerMixin, BaseEstimator):
    """Transcripts -> the numeric marker matrix of :class:`detect.markers.MarkerExtractor`.

    Parameters
    ----------
    columns : tuple of str or None
        Marker columns to keep; None keeps every column in :data:`detect.markers.MARKERS`.

    Attributes
    ----------
    columns_ : list of str
        The columns used, fixed at fit so train and test matrices line up.
    """

    def __init__(self, *, columns: tuple[str, ...] | None = None, cache_dir: str | None = None):
        self.columns = columns
        self.cache_dir = cache_dir

    def _frame(self, X: Sequence[Transcript]):
        # The extractor holds a spaCy pipeline: built on demand, never pickled with the model.
        extractor = self.__dict__.get("_extractor")
        if extractor is None:
            extractor = self.__dict__["_extractor"] = _extractor(self.cache_dir)
        return extractor.transform(list(X))

    def fit(self, X: Sequence[Transcript], y: Any = None) -> Self:
        from detect.markers import MARKERS

        frame = self._frame(X)
        wanted = list(self.columns) if self.columns is not None else list(MARKERS)
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise ValueError(f"unknown marker column(s) {missing}; available: {sorted(frame.columns)}")
        if not wanted:
            raise ValueError("no marker columns to use")
        self.columns_ = wanted
        return self

    def transform(self, X: Sequence[Transcript]) -> np.ndarray:
        check_is_fitted(self, "columns_")
        return self._frame(X)[self.columns_].to_numpy(dtype=float)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "columns_")
        return np.asarray(self.columns_, dtype=object)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_extractor", None)
        return state


@functools.lru_cache(maxsize=4)
def _extractor(cache_dir: str | None):
    """One extractor per cache folder for the process: every CV fold refits a fresh pipeline,
    and without sharing each would reload spaCy and re-parse the same texts (markers of a
    text never depend on the fold, so sharing cannot leak)."""
    from detect.markers import MarkerExtractor

    return MarkerExtractor(cache_dir=cache_dir)


def _class_weight(value: str) -> str | None:
    return None if value == "none" else value


# -- configs --------------------------------------------------------------------
@dataclass
class TfidfConfig:
    # features
    ngram_max: int = field(default=2, metadata={"help": "Word n-grams from 1 to this length."})
    min_df: int = field(default=2, metadata={"help": "Drop terms seen in fewer training transcripts."})
    max_features: int | None = field(default=20000, metadata={"help": "Keep this many most frequent terms; None keeps all."})
    sublinear_tf: bool = field(default=True, metadata={"help": "Use 1 + log(tf): long descriptions do not dominate."})
    # model
    C: float = field(default=1.0, metadata={"help": "Inverse L2 regularisation strength of the logistic regression."})
    class_weight: str = field(default="balanced", metadata={"help": "Reweight classes.", "choices": CLASS_WEIGHTS})
    seed: int = field(default=0, metadata={"help": "Random state of the solver."})

    def __post_init__(self) -> None:
        if self.ngram_max < 1:
            raise ValueError(f"ngram_max must be >= 1, got {self.ngram_max}")
        if self.min_df < 1:
            raise ValueError(f"min_df must be >= 1, got {self.min_df}")
        if self.max_features is not None and self.max_features < 1:
            raise ValueError(f"max_features must be >= 1 or None, got {self.max_features}")
        if self.C <= 0:
            raise ValueError(f"C must be > 0, got {self.C}")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"class_weight must be one of {CLASS_WEIGHTS}, got {self.class_weight!r}")


@dataclass
class MarkersConfig:
    # features
    columns: tuple[str, ...] | None = field(
        default=None, metadata={"help": "Marker columns to use; None = all of detect.markers.MARKERS."}
    )
    cache_dir: str | None = field(
        default=None, metadata={"help": "Folder for the marker extractor's SQLite cache; None = in memory."}
    )
    # model
    C: float = field(default=1.0, metadata={"help": "Inverse L2 regularisation strength of the logistic regression."})
    class_weight: str = field(default="balanced", metadata={"help": "Reweight classes.", "choices": CLASS_WEIGHTS})
    seed: int = field(default=0, metadata={"help": "Random state of the solver."})

    def __post_init__(self) -> None:
        if self.columns is not None:
            self.columns = tuple(self.columns)
            if not self.columns:
                raise ValueError("columns must name at least one marker, or be None for all")
        if self.C <= 0:
            raise ValueError(f"C must be > 0, got {self.C}")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"class_weight must be one of {CLASS_WEIGHTS}, got {self.class_weight!r}")


@dataclass
class MajorityConfig:
    strategy: str = field(
        default="prior",
        metadata={"help": "DummyClassifier strategy: prior predicts the majority class, scores the class prior.",
                  "choices": ("prior", "most_frequent")},
    )
    seed: int = field(default=0, metadata={"help": "Unused by these strategies; kept so every config has a seed."})

    def __post_init__(self) -> None:
        if self.strategy not in ("prior", "most_frequent"):
            raise ValueError(f"strategy must be 'prior' or 'most_frequent', got {self.strategy!r}")


# -- detectors ------------------------------------------------------------------
class SklearnDetector:
    """A detector whose model is one scikit-learn Pipeline over transcripts."""

    name: ClassVar[str]
    config_cls: ClassVar[type]

    def __init__(self, config: Any = None):
        self.config = config if config is not None else self.config_cls()
        if not isinstance(self.config, self.config_cls):
            raise TypeError(f"{type(self).__name__} takes a {self.config_cls.__name__}, got {type(self.config).__name__}")
        self.pipeline_: Pipeline | None = None

    def build_pipeline(self) -> Pipeline:
        raise NotImplementedError

    def fit(self, train: Sequence[Transcript]) -> Self:
        y = labels_of(train)
        self.pipeline_ = self.build_pipeline().fit(list(train), y)
        return self

    def predict_proba(self, transcripts: Sequence[Transcript]) -> np.ndarray:
        if self.pipeline_ is None:
            raise RuntimeError(f"{self.name} detector is not fitted; call fit() or load() first")
        if len(transcripts) == 0:
            return np.zeros(0, dtype=float)
        proba = self.pipeline_.predict_proba(list(transcripts))
        classes = list(self.pipeline_.classes_)
        return proba[:, classes.index(1)].astype(float)

    def save(self, directory: str | Path) -> Path:
        if self.pipeline_ is None:
            raise RuntimeError(f"{self.name} detector is not fitted; nothing to save")
        out = write_manifest(directory, self.name, self.config)
        joblib.dump(self.pipeline_, out / PIPELINE_FILE)
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        manifest = read_manifest(directory)
        if manifest["detector"] != cls.name:
            raise ModelFolderError(directory, f"holds a {manifest['detector']!r} detector, not {cls.name!r}")
        detector = cls(config_from_dict(cls.config_cls, manifest["config"], source=str(directory)))
        path = Path(directory) / PIPELINE_FILE
        if not path.exists():
            raise ModelFolderError(directory, f"{PIPELINE_FILE} is missing", fix="retrain the detector")
        detector.pipeline_ = joblib.load(path)
        return detector


class TfidfDetector(SklearnDetector):
    """Word n-gram TF-IDF + logistic regression: the bag-of-words baseline."""

    name = "tfidf"
    config_cls = TfidfConfig

    def build_pipeline(self) -> Pipeline:
        c = self.config
        return Pipeline([
            ("text", FunctionTransformer(transcript_texts)),
            ("tfidf", TfidfVectorizer(ngram_range=(1, c.ngram_max), min_df=c.min_df, max_features=c.max_features,
                                      sublinear_tf=c.sublinear_tf, lowercase=True)),
            ("clf", LogisticRegression(C=c.C, class_weight=_class_weight(c.class_weight), max_iter=2000,
                                       random_state=c.seed)),
        ])


class MarkersDetector(SklearnDetector):
    """Standardised linguistic markers (information units, lexis, disfluency) + logistic regression."""

    name = "markers"
    config_cls = MarkersConfig

    def build_pipeline(self) -> Pipeline:
        c = self.config
        return Pipeline([
            ("markers", MarkerFeatures(columns=c.columns, cache_dir=c.cache_dir)),
            # A rate is undefined for an empty transcript; the training median stands in.
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=c.C, class_weight=_class_weight(c.class_weight), max_iter=2000,
                                       random_state=c.seed)),
        ])


class MajorityDetector(SklearnDetector):
    """Always the training majority: the floor every table shows."""

    name = "majority"
    config_cls = MajorityConfig

    def build_pipeline(self) -> Pipeline:
        return Pipeline([
            ("text", FunctionTransformer(transcript_texts)),
            ("clf", DummyClassifier(strategy=self.config.strategy)),
        ])
