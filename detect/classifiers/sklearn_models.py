"""Classic baselines as scikit-learn Pipelines over transcripts: TF-IDF, linguistic markers, majority.

Each detector is a scikit-learn classifier (parameters validated by
``_parameter_constraints`` at fit) whose pipeline takes a list of
:class:`~detect.records.Transcript` as ``X``, so every fitted step (vectorizer, scaler,
imputer) learns from the fold's training transcripts only.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from numbers import Integral, Real
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
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from detect.classifiers.base import DetectorMixin, ModelFolderError, as_transcripts
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


def _logistic(C: float, class_weight: str, seed: int) -> LogisticRegression:
    """The classifier head of the TF-IDF and marker baselines."""
    return LogisticRegression(
        C=C, class_weight=None if class_weight == "none" else class_weight, max_iter=2000, random_state=seed
    )


_SEED = [Interval(Integral, None, None, closed="neither")]
_C = [Interval(Real, 0, None, closed="neither")]
_CLASS_WEIGHT = [StrOptions(set(CLASS_WEIGHTS))]


class SklearnDetector(DetectorMixin):
    """A detector whose model is one scikit-learn Pipeline over transcripts (``pipeline_``)."""

    def _pipeline(self) -> Pipeline:
        raise NotImplementedError

    def _fit(self, X: list[Transcript], y: np.ndarray) -> None:
        self.pipeline_ = self._pipeline().fit(X, y)

    def predict_proba(self, X: Sequence[Transcript | str]) -> np.ndarray:
        """(n, 2) probabilities of HC and AD, in the order of ``classes_``."""
        check_is_fitted(self, "pipeline_")
        X = as_transcripts(X)
        if not X:
            return np.zeros((0, 2), dtype=float)
        return self.pipeline_.predict_proba(X).astype(float)

    def _save_payload(self, folder: Path) -> None:
        joblib.dump(self.pipeline_, folder / PIPELINE_FILE)

    def _load_payload(self, folder: Path, manifest: dict[str, Any]) -> None:
        path = folder / PIPELINE_FILE
        if not path.exists():
            raise ModelFolderError(folder, f"{PIPELINE_FILE} is missing", fix="retrain the detector")
        self.pipeline_ = joblib.load(path)


class TfidfDetector(SklearnDetector):
    """Word n-gram TF-IDF + logistic regression: the bag-of-words baseline.

    Parameters
    ----------
    ngram_max : int, default=2
        Word n-grams from 1 to this length.
    min_df : int, default=2
        Drop terms seen in fewer training transcripts.
    max_features : int or None, default=20000
        Keep this many most frequent terms; None keeps all.
    sublinear_tf : bool, default=True
        Use 1 + log(tf), so long descriptions do not dominate.
    C : float, default=1.0
        Inverse L2 regularisation strength of the logistic regression.
    class_weight : {"balanced", "none"}, default="balanced"
        Reweight classes by inverse frequency, or not.
    seed : int, default=0
        Random state of the solver.

    Attributes
    ----------
    pipeline_ : Pipeline
        text -> TF-IDF -> logistic regression, fitted on the training transcripts only.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``: HC, AD.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> clone(TfidfDetector(C=2.0)).set_params(seed=3).get_params()["C"]
    2.0
    """

    name = "tfidf"
    _parameter_constraints: ClassVar[dict] = {
        "ngram_max": [Interval(Integral, 1, None, closed="left")],
        "min_df": [Interval(Integral, 1, None, closed="left")],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "sublinear_tf": ["boolean"],
        "C": _C,
        "class_weight": _CLASS_WEIGHT,
        "seed": _SEED,
    }

    def __init__(
        self,
        *,
        ngram_max: int = 2,
        min_df: int = 2,
        max_features: int | None = 20000,
        sublinear_tf: bool = True,
        C: float = 1.0,
        class_weight: str = "balanced",
        seed: int = 0,
    ):
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.C = C
        self.class_weight = class_weight
        self.seed = seed

    def _pipeline(self) -> Pipeline:
        return Pipeline(
            [
                ("text", FunctionTransformer(transcript_texts)),
                (
                    "tfidf",
                    TfidfVectorizer(
                        ngram_range=(1, self.ngram_max),
                        min_df=self.min_df,
                        max_features=self.max_features,
                        sublinear_tf=self.sublinear_tf,
                        lowercase=True,
                    ),
                ),
                ("clf", _logistic(self.C, self.class_weight, self.seed)),
            ]
        )


class MarkersDetector(SklearnDetector):
    """Standardised linguistic markers (information units, lexis, disfluency) + logistic regression.

    Parameters
    ----------
    columns : sequence of str or None, default=None
        Marker columns to use; None uses all of :data:`detect.markers.MARKERS`.
    cache_dir : str or None, default=None
        Folder for the marker extractor's SQLite cache; None keeps it in memory.
    C : float, default=1.0
        Inverse L2 regularisation strength of the logistic regression.
    class_weight : {"balanced", "none"}, default="balanced"
        Reweight classes by inverse frequency, or not.
    seed : int, default=0
        Random state of the solver.

    Attributes
    ----------
    pipeline_ : Pipeline
        markers -> median imputation -> standard scaling -> logistic regression.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``: HC, AD.
    """

    name = "markers"
    _parameter_constraints: ClassVar[dict] = {
        "columns": [list, tuple, None],
        "cache_dir": [str, None],
        "C": _C,
        "class_weight": _CLASS_WEIGHT,
        "seed": _SEED,
    }

    def __init__(
        self,
        *,
        columns: Sequence[str] | None = None,
        cache_dir: str | None = None,
        C: float = 1.0,
        class_weight: str = "balanced",
        seed: int = 0,
    ):
        self.columns = columns
        self.cache_dir = cache_dir
        self.C = C
        self.class_weight = class_weight
        self.seed = seed

    def _pipeline(self) -> Pipeline:
        return Pipeline(
            [
                (
                    "markers",
                    MarkerFeatures(
                        columns=None if self.columns is None else tuple(self.columns), cache_dir=self.cache_dir
                    ),
                ),
                # A rate is undefined for an empty transcript; the training median stands in.
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
                ("clf", _logistic(self.C, self.class_weight, self.seed)),
            ]
        )


class MajorityDetector(SklearnDetector):
    """Always the training majority: the floor every table shows.

    Parameters
    ----------
    strategy : {"prior", "most_frequent"}, default="prior"
        :class:`~sklearn.dummy.DummyClassifier` strategy: prior predicts the majority class
        and scores the class prior.
    seed : int, default=0
        Unused by these strategies; kept so that every detector takes a seed.
    """

    name = "majority"
    _parameter_constraints: ClassVar[dict] = {"strategy": [StrOptions({"prior", "most_frequent"})], "seed": _SEED}

    def __init__(self, *, strategy: str = "prior", seed: int = 0):
        self.strategy = strategy
        self.seed = seed

    def _pipeline(self) -> Pipeline:
        return Pipeline(
            [
                ("text", FunctionTransformer(transcript_texts)),
                ("clf", DummyClassifier(strategy=self.strategy)),
            ]
        )
