"""Quality, privacy and style filters for synthetic descriptions.

Every filter records a :class:`~augment.synthetic.Verdict` on the record under its own
name; nothing is dropped here. :func:`select` then keeps what passes the filters asked
for. The style check is recorded but *not* required by default, so that a benchmark does
not silently cherry-pick the generations that already look like their class.

Filters (verdict names):

- ``length``: word count within bounds.
- ``garbage``: loops (share of repeated word n-grams, longest immediate repeat run) and
  non-words (tokens that cannot be English words).
- ``on_topic``: Cookie Theft information-unit coverage above a floor.
- ``duplicate``: exact (normalised text) and near duplicates (word-shingle Jaccard,
  estimated with bottom-k sketches) of an earlier record.
- ``privacy``: shares a run of ``privacy_ngram`` words (default 8) with a real training
  transcript: patient speech must not leak into synthetic data.
- ``style``: the record lies on its style's side of the AD-HC style axis
  (:mod:`augment.style_axis`) fitted to the real training transcripts.
- ``best_of`` (only with ``best_of=n`` > 1): records ``0..n-1``, ``n..2n-1``, ... of one
  generation file are the n candidates of one description; of those that pass the required
  filters, the one closest to its style's real class mean on the style markers wins, and
  the others are never selected.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

from augment.generate import record_index
from augment.prompts import Style
from augment.style_axis import STYLE_MARKERS, StyleAxis
from augment.synthetic import SyntheticDescription, Verdict
from detect.chat import FILLERS
from detect.hashing import int_hash
from detect.records import Label, Transcript
from detect.verbatim import UNINTELLIGIBLE, without_marks

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_VOWEL = re.compile(r"[aeiouy]")
_TRIPLE = re.compile(r"(.)\1\1")
# Short English words without a vowel letter (y counts as a vowel above).
_VOWELLESS_OK = frozenset({"hm", "hmm", "mm", "mhm", "shh", "psst", "nth", "tsk", "st", "nd", "rd", "th"})


VerdictName = Literal["length", "garbage", "on_topic", "duplicate", "privacy", "style"]
BEST_OF = "best_of"


@dataclass(config=ConfigDict(extra="forbid"))
class FilterConfig:
    """Thresholds for :func:`apply_filters`; defaults suit 50-300-word descriptions."""

    min_words: int = Field(default=15, gt=0, description="Fewer words than this fails 'length'.")
    max_words: int = Field(default=400, gt=0, description="More words than this fails 'length'.")
    loop_ngram: int = Field(default=3, ge=1, description="n for the repeated-n-gram loop check.")
    max_repeated_ngram_share: float = Field(
        default=0.35, ge=0, le=1, description="Largest share of word n-grams that repeat an earlier one."
    )
    max_repeat_run: int = Field(
        default=4, ge=1, description="Longest run of one word repeated back to back (the the the ...)."
    )
    max_nonword_share: float = Field(default=0.15, ge=0, le=1, description="Largest share of non-word tokens.")
    min_iu_coverage: float = Field(
        default=0.1, ge=0, le=1, description="Least Cookie Theft information-unit coverage for 'on_topic'."
    )
    near_duplicate_jaccard: float = Field(
        default=0.8, gt=0, le=1, description="Word-5-gram Jaccard at or above which a record is a near duplicate."
    )
    privacy_ngram: int = Field(
        default=8,
        ge=3,
        description="Words in a run shared with a real transcript that fails 'privacy'"
        " (shorter runs are common phrases).",
    )
    style_markers: tuple[str, ...] = Field(
        default=STYLE_MARKERS, min_length=1, description="Markers of the style axis the style check uses."
    )
    style_min_score: float = Field(
        default=0.0, description="How far onto its style's side of the axis a record must lie (0: the midpoint)."
    )
    require: tuple[VerdictName, ...] = Field(
        default=("length", "garbage", "on_topic", "duplicate", "privacy"),
        description="Verdicts a record must pass to be selected; add 'style' to cherry-pick by style.",
    )

    @model_validator(mode="after")
    def _length_bounds(self) -> FilterConfig:
        if self.min_words > self.max_words:
            raise ValueError(f"need min_words <= max_words, got {self.min_words}, {self.max_words}")
        return self


# -- text normalisation -------------------------------------------------------------


def words(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept inside words)."""
    return _WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """Words with fillers dropped and immediate repeats collapsed.

    Real verbatim text carries retracings ("the the boy") and fillers that a generator may
    or may not reproduce; removing both makes the privacy match robust to them.
    """
    out: list[str] = []
    for w in words(text):
        if w in FILLERS or (out and out[-1] == w):
            continue
        out.append(w)
    return out


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """Word n-grams of ``tokens``, in order."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


# -- single-record checks ---------------------------------------------------------------


def length_verdict(text: str, config: FilterConfig) -> Verdict:
    n = len(words(text))
    ok = config.min_words <= n <= config.max_words
    return Verdict(
        passed=ok, score=float(n), detail="" if ok else f"{n} words, want {config.min_words}-{config.max_words}"
    )


def is_nonword(token: str) -> bool:
    """A token that cannot be an English word: no vowel, a letter tripled, or absurdly long."""
    if token in _VOWELLESS_OK or token in FILLERS or token in UNINTELLIGIBLE:
        return False
    if len(token) == 1:
        return token not in {"a", "i", "o"}
    return not _VOWEL.search(token) or bool(_TRIPLE.search(token)) or len(token) > 20


def repeated_ngram_share(text: str, n: int = 3) -> float:
    """Share of word ``n``-grams that repeat an earlier one: the loop measure of ``garbage``."""
    grams = ngrams(words(text), n)
    return (len(grams) - len(set(grams))) / len(grams) if grams else 0.0


def garbage_verdict(text: str, config: FilterConfig) -> Verdict:
    raw_tokens = without_marks(text).split()  # the marks of speech are no junk
    tokens = words(text)
    if not tokens:
        return Verdict(passed=False, score=1.0, detail="no words")
    share = repeated_ngram_share(text, config.loop_ngram)
    run, longest = 1, 1
    for a, b in pairwise(tokens):
        run = run + 1 if a == b else 1
        longest = max(longest, run)
    # Non-words: tokens with no letters at all (symbol soup, code, digits) or unpronounceable ones.
    junk = sum(1 for t in raw_tokens if not re.search(r"[A-Za-z]", t) and t != "...")
    nonwords = sum(1 for t in tokens if is_nonword(t)) + junk
    nonword_share = nonwords / max(1, len(tokens) + junk)
    problems = []
    if share > config.max_repeated_ngram_share:
        problems.append(f"{share:.0%} of {config.loop_ngram}-grams repeat (loop)")
    if longest > config.max_repeat_run:
        problems.append(f"a word repeated {longest} times in a row")
    if nonword_share > config.max_nonword_share:
        problems.append(f"{nonword_share:.0%} non-words")
    return Verdict(passed=not problems, score=max(share, nonword_share), detail="; ".join(problems))


def on_topic_verdict(markers: dict[str, float], config: FilterConfig) -> Verdict:
    cov = markers.get("iu_coverage")
    if cov is None:
        return Verdict(passed=False, detail="no iu_coverage marker computed")
    ok = cov >= config.min_iu_coverage
    return Verdict(passed=ok, score=cov, detail="" if ok else f"IU coverage {cov:.2f} < {config.min_iu_coverage}")


# -- privacy ------------------------------------------------------------------------------


class PrivacyIndex:
    """Hashes of every ``n``-word run in the real transcripts a generator was trained from.

    Both the clean text and the verbatim rendering of each transcript are indexed, after
    :func:`content_words` normalisation (fillers out, repeats collapsed).
    """

    def __init__(self, transcripts: Iterable[Transcript], *, n: int = 8):
        self.n = n
        self._index: dict[int, str] = {}
        for t in transcripts:
            for source in {t.text, t.verbatim} - {""}:
                for gram in ngrams(content_words(source), n):
                    self._index.setdefault(int_hash(gram), t.id)
        logger.debug("privacy index: %d %d-grams", len(self._index), n)

    def __len__(self) -> int:
        return len(self._index)

    def verdict(self, text: str) -> Verdict:
        tokens = content_words(text)
        for gram in ngrams(tokens, self.n):
            hit = self._index.get(int_hash(gram))
            if hit is not None:
                # The detail names the transcript, not the words: the words are the patient's.
                return Verdict(passed=False, score=1.0, detail=f"shares a {self.n}-word run with real transcript {hit}")
        return Verdict(passed=True, score=0.0)


def shares_a_run_with_another_speaker(transcripts: Sequence[Transcript], *, n: int = 8) -> list[bool]:
    """Per real transcript: would the privacy filter reject it against the *other* speakers' transcripts?

    The real level of near-copies: how often a new speaker of the corpus says ``n`` words in a
    row that another already said (common phrases of the task), which a generator's rate of
    near-copies is to be read against.
    """
    grams_of: list[tuple[str, set[int]]] = []
    speakers: dict[int, set[str]] = {}
    for t in transcripts:
        grams = {int_hash(g) for source in {t.text, t.verbatim} - {""} for g in ngrams(content_words(source), n)}
        grams_of.append((t.speaker_id, grams))
        for h in grams:
            speakers.setdefault(h, set()).add(t.speaker_id)
    return [any(speakers[h] - {speaker} for h in grams) for speaker, grams in grams_of]


# -- duplicates ---------------------------------------------------------------------------


def _sketch(tokens: Sequence[str], *, n: int = 5, k: int = 64) -> tuple[frozenset[int], frozenset[int]]:
    """(all shingle hashes, bottom-k of them): the bottom-k serves as an LSH-like candidate key."""
    shingles = frozenset(int_hash(g) for g in ngrams(tokens, n)) or frozenset({int_hash(tuple(tokens))})
    return shingles, frozenset(sorted(shingles)[:k])


def duplicate_verdicts(texts: Sequence[str], config: FilterConfig) -> list[Verdict]:
    """Marks each text that repeats (exactly or nearly) an earlier one in the sequence.

    Candidates come from shared bottom-k shingle hashes (two texts with Jaccard >= 0.8
    almost surely share some), the decision from the exact Jaccard of their shingle sets.
    """
    exact: dict[str, int] = {}
    kept: list[frozenset[int]] = []
    owner: list[int] = []
    by_hash: dict[int, list[int]] = {}
    out: list[Verdict] = []
    for i, text in enumerate(texts):
        tokens = content_words(text)
        key = " ".join(tokens)
        if key in exact:
            out.append(Verdict(passed=False, score=1.0, detail=f"exact duplicate of record #{exact[key]}"))
            continue
        exact[key] = i
        shingles, bottom = _sketch(tokens)
        best, best_j = None, 0.0
        for cand in {c for h in bottom for c in by_hash.get(h, ())}:
            other = kept[cand]
            j = len(shingles & other) / len(shingles | other)
            if j > best_j:
                best, best_j = cand, j
        if best is not None and best_j >= config.near_duplicate_jaccard:
            out.append(
                Verdict(
                    passed=False, score=best_j, detail=f"near duplicate of record #{owner[best]} (Jaccard {best_j:.2f})"
                )
            )
            continue
        idx = len(kept)
        kept.append(shingles)
        owner.append(i)
        for h in bottom:
            by_hash.setdefault(h, []).append(idx)
        out.append(Verdict(passed=True, score=best_j))
    return out


# -- style --------------------------------------------------------------------------------


def style_verdict(axis: StyleAxis, markers: dict[str, float], style: Style, min_score: float) -> Verdict:
    """Passes when the record lies at least ``min_score`` onto its style's side of the style axis."""
    side = axis.side(style, markers)
    if math.isnan(side):
        return Verdict(passed=False, detail="a style marker is undefined for this text")
    ok = side >= min_score
    where = "on the" if side >= 0 else "off the"
    return Verdict(passed=ok, score=side, detail=f"{where} {style.upper()} side of the style axis ({side:+.2f})")


# -- best of n --------------------------------------------------------------------------------


def candidate_group(record: SyntheticDescription, n: int) -> tuple[str, int]:
    """Which description a record is a candidate for: its file's id prefix and index // n."""
    return record.id.rpartition("-")[0], record_index(record) // n


def best_of_verdicts(
    records: Sequence[SyntheticDescription], n: int, axis: StyleAxis, require: Sequence[str]
) -> list[Verdict]:
    """One verdict per record (records carry their markers and the ``require`` verdicts): of
    each group of ``n`` candidates (:func:`candidate_group`), the one that passes ``require``
    and lies closest to its style's real class mean (:meth:`StyleAxis.distance`) wins."""
    groups: dict[tuple[str, int], list[int]] = {}
    for k, rec in enumerate(records):
        groups.setdefault(candidate_group(rec, n), []).append(k)
    out: list[Verdict] = [Verdict(passed=False)] * len(records)
    for members in groups.values():
        eligible = [k for k in members if select([records[k]], require, drawn=False)]
        distance = {k: d for k in eligible if not math.isnan(d := axis.distance(records[k].style, records[k].markers))}
        winner = min(distance, key=lambda k: (distance[k], k)) if distance else None
        for k in members:
            score = distance.get(k)
            if k == winner:
                detail = (
                    f"closest to the {records[k].style.upper()} class mean"
                    f" of {len(members)} candidates ({score:.2f} SD)"
                )
            elif score is None:
                detail = "failed a required filter" if k not in eligible else "a style marker is undefined"
            else:
                assert winner is not None, "a candidate with a distance makes a winner"
                detail = f"{score:.2f} SD from the class mean; {records[winner].id} is closer ({distance[winner]:.2f})"
            out[k] = Verdict(passed=k == winner, score=score, detail=detail)
    return out


# -- the pipeline -----------------------------------------------------------------------------


def compute_markers(records: Sequence[SyntheticDescription], extractor=None) -> list[dict[str, float]]:
    """Markers of each record's transcript (``detect.markers.MarkerExtractor``, cached by text)."""
    if extractor is None:
        from detect.markers import MarkerExtractor

        extractor = MarkerExtractor()
    transcripts = [r.to_transcript() for r in records]
    frame = extractor.transform(transcripts)
    return [{k: float(v) for k, v in frame.iloc[i].items()} for i in range(len(transcripts))]


def apply_filters(
    records: Sequence[SyntheticDescription],
    *,
    config: FilterConfig | None = None,
    training: Sequence[Transcript] | None = None,
    extractor=None,
    style_axis: StyleAxis | None = None,
    best_of: int = 1,
) -> list[SyntheticDescription]:
    """Returns the records with markers and every verdict recorded (none dropped).

    ``training``: the real transcripts the generator was trained (or prompted) from. They
    feed the privacy index and, when ``style_axis`` is not given, the style axis.
    Without them the privacy and style verdicts are not recorded (and a warning says so).
    ``best_of`` > 1 also records the ``best_of`` verdict (:func:`best_of_verdicts`), which needs
    the style axis.
    """
    config = config or FilterConfig()
    if not records:
        return []
    if extractor is None:
        from detect.markers import MarkerExtractor

        extractor = MarkerExtractor()
    marker_rows = compute_markers(records, extractor)
    privacy = PrivacyIndex(training, n=config.privacy_ngram) if training else None
    if style_axis is None and training and {t.label for t in training} >= {Label.AD, Label.HC}:
        style_axis = StyleAxis.from_transcripts(training, extractor, config.style_markers)
    if privacy is None:
        logger.warning("no training transcripts given: privacy verdicts not recorded")
    dup = duplicate_verdicts([r.text for r in records], config)
    out = []
    for rec, markers, dup_v in zip(records, marker_rows, dup, strict=True):
        verdicts = {name: v for name, v in rec.verdicts.items() if name != BEST_OF}  # drawn again below
        verdicts["length"] = length_verdict(rec.text, config)
        verdicts["garbage"] = garbage_verdict(rec.text, config)
        verdicts["on_topic"] = on_topic_verdict(markers, config)
        verdicts["duplicate"] = dup_v
        if privacy is not None:
            verdicts["privacy"] = privacy.verdict(rec.text)
        if style_axis is not None:
            verdicts["style"] = style_verdict(style_axis, markers, rec.style, config.style_min_score)
        out.append(rec.model_copy(update={"verdicts": verdicts, "markers": markers}))
    if best_of > 1:
        if style_axis is None:
            raise ValueError(
                "best-of-n keeps the candidate closest to its real class: it needs training transcripts "
                "of both labels (or a style axis)"
            )
        out = [
            rec.model_copy(update={"verdicts": {**rec.verdicts, BEST_OF: v}})
            for rec, v in zip(out, best_of_verdicts(out, best_of, style_axis, config.require), strict=True)
        ]
    return out


def select(
    records: Iterable[SyntheticDescription], require: Sequence[str] | None = None, *, drawn: bool = True
) -> list[SyntheticDescription]:
    """Records passing every verdict in ``require`` (default: all but style).

    A required verdict that was never recorded counts as a failure, so a missing privacy
    index can never wave records through. A record that lost its best-of-n draw is never
    selected, whatever ``require`` says: it was a spare candidate for another record
    (``drawn=False`` ignores the draw: what passed the filters, for a pass rate).
    """
    require = FilterConfig().require if require is None else tuple(require)
    return [
        r
        for r in records
        if all(name in r.verdicts and r.verdicts[name].passed for name in require)
        and (not drawn or BEST_OF not in r.verdicts or r.verdicts[BEST_OF].passed)
    ]


def summary(records: Sequence[SyntheticDescription]) -> dict[str, dict[str, int]]:
    """Pass/fail counts per verdict, for progress output and reports."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        for name, v in r.verdicts.items():
            slot = out.setdefault(name, {"passed": 0, "failed": 0})
            slot["passed" if v.passed else "failed"] += 1
    return out
