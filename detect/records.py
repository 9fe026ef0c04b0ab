"""The records every stage exchanges: a transcript, its disfluency counts, a corpus of them.

Real transcripts come from the readers in :mod:`detect.readers`; synthetic ones from
:mod:`augment`. Both carry the same fields so a classifier never needs to know which
it sees, and both carry ``source`` so an evaluation always can.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from detect.hashing import digest


class Label(str, Enum):
    AD = "AD"
    HC = "HC"

    @classmethod
    def parse(cls, value: object) -> Label | None:
        """Accepts the spellings found in the wild: AD/HC, cd/cc, 1/0, ProbableAD/Control."""
        if value is None:
            return None
        text = str(value).strip().lower()
        if text in {"", "none", "nan", "na", "?"}:
            return None
        if text in {"ad", "cd", "1", "dementia", "probablead", "possiblead", "probable ad", "alzheimer"}:
            return cls.AD
        if text in {"hc", "cc", "0", "control", "healthy"}:
            return cls.HC
        raise ValueError(f"unknown label {value!r} (use AD or HC; cd/cc and 1/0 are accepted too)")


class Disfluencies(BaseModel):
    """Counts taken from the CHAT codes (real) or from verbatim text (synthetic)."""

    model_config = ConfigDict(frozen=True)

    fillers: int = 0  # &uh &-um, or bare uh/um in verbatim text
    retracings: int = 0  # [/] [//] [///]
    unintelligible: int = 0  # xxx yyy www
    pauses: int = 0  # (.) (..) (...)
    trailing_offs: int = 0  # +... or a trailing "..."
    fragments: int = 0  # &f &ca (phonological fragments)
    utterances: int = 0

    def __add__(self, other: Disfluencies) -> Disfluencies:
        return Disfluencies(**{k: getattr(self, k) + getattr(other, k) for k in Disfluencies.model_fields})


class Source(BaseModel):
    """Where a transcript came from; synthetic ones name their generator and condition."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["real", "synthetic"] = "real"
    generator: str | None = None  # e.g. "dpo:ad@<adapter hash>", "classic:eda", "prompt-only"
    condition: str | None = None
    parent_ids: tuple[str, ...] = ()  # real transcripts a synthetic one was derived from


class Transcript(BaseModel):
    """One Cookie Theft description by one speaker in one session."""

    model_config = ConfigDict(frozen=True)

    id: str
    speaker_id: str
    label: Label | None
    text: str = Field(description="Clean text for classifiers: codes, fillers and pauses removed.")
    verbatim: str = Field(
        default="",
        description="What was said, readable: fillers as uh/um, retraced words repeated, '...' for trailing off.",
    )
    utterances: tuple[str, ...] = Field(default=(), description="Raw *PAR main-tier utterances (CHAT).")
    disfluencies: Disfluencies = Disfluencies()
    age: float | None = None
    gender: str | None = None
    mmse: float | None = None
    split: Literal["train", "test"] | None = None
    session: int | None = None
    source: Source = Source()
    path: str | None = None

    @property
    def is_synthetic(self) -> bool:
        return self.source.kind == "synthetic"


class Corpus(Sequence[Transcript]):
    """An ordered, immutable collection of transcripts with speaker-aware helpers.

    Speakers, not transcripts, are the unit of independence: Pitt has several sessions
    per speaker, so every split helper here works on speaker ids. A label belongs to a
    visit: in a longitudinal study a speaker's diagnosis can change between visits (a
    Control visit, then Dementia ones), and each transcript keeps the label of its visit.
    Stratification needs one label per speaker: :meth:`speaker_labels` gives the last
    diagnosis. :func:`detect.readers.load_corpus` decides, by its ``visits`` policy,
    whether such speakers are kept at all.
    """

    def __init__(self, transcripts: Iterable[Transcript], *, layout: str = "memory", root: str | None = None):
        self._items: tuple[Transcript, ...] = tuple(transcripts)
        self.layout = layout
        self.root = root
        seen: set[str] = set()
        for t in self._items:
            if t.id in seen:
                raise ValueError(f"duplicate transcript id {t.id!r}: ids must be unique within a corpus")
            seen.add(t.id)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Corpus(self._items[index], layout=self.layout, root=self.root)
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Transcript]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"Corpus({len(self)} transcripts, {len(self.speakers())} speakers, layout={self.layout!r})"

    # -- speakers -------------------------------------------------------------
    def speakers(self) -> list[str]:
        """Speaker ids in first-seen order."""
        return list(dict.fromkeys(t.speaker_id for t in self._items))

    def visits(self) -> dict[str, list[Transcript]]:
        """Each speaker's transcripts in visit order: by session number, else in corpus order."""
        out: dict[str, list[Transcript]] = {}
        for t in self._items:
            out.setdefault(t.speaker_id, []).append(t)
        for visits in out.values():
            # stable sort: transcripts without a session keep their order, before numbered ones
            visits.sort(key=lambda t: -1 if t.session is None else t.session)
        return out

    def speaker_labels(self) -> dict[str, Label | None]:
        """One label per speaker, for stratifying speaker-grouped splits: the last diagnosis.

        Most speakers carry one label on every visit; for one whose diagnosis changed, the
        label of the last labelled visit (see :meth:`visits`).
        """
        out: dict[str, Label | None] = {}
        for speaker, visits in self.visits().items():
            labelled = [t.label for t in visits if t.label is not None]
            out[speaker] = labelled[-1] if labelled else None
        return out

    def changed_diagnosis(self) -> dict[str, list[Transcript]]:
        """Speakers whose visits carry both AD and HC labels, with their visits in order."""
        return {
            speaker: visits for speaker, visits in self.visits().items() if len({t.label for t in visits} - {None}) > 1
        }

    def by_speakers(self, speakers: Iterable[str]) -> Corpus:
        wanted = set(speakers)
        return self.filter(lambda t: t.speaker_id in wanted)

    # -- filters --------------------------------------------------------------
    def filter(self, keep) -> Corpus:
        return Corpus((t for t in self._items if keep(t)), layout=self.layout, root=self.root)

    def by_label(self, label: Label) -> Corpus:
        return self.filter(lambda t: t.label == label)

    def by_split(self, split: str) -> Corpus:
        return self.filter(lambda t: t.split == split)

    def labelled(self) -> Corpus:
        return self.filter(lambda t: t.label is not None)

    def real(self) -> Corpus:
        return self.filter(lambda t: not t.is_synthetic)

    def __add__(self, other: Iterable[Transcript]) -> Corpus:
        return Corpus([*self._items, *other], layout=self.layout, root=self.root)

    # -- views ----------------------------------------------------------------
    def texts(self) -> list[str]:
        return [t.text for t in self._items]

    def labels(self) -> list[Label | None]:
        return [t.label for t in self._items]

    def y(self) -> list[int]:
        """1 for AD, 0 for HC; raises if a transcript is unlabelled."""
        out = []
        for t in self._items:
            if t.label is None:
                raise ValueError(f"transcript {t.id} has no label; use corpus.labelled() first")
            out.append(1 if t.label == Label.AD else 0)
        return out

    def counts(self) -> dict[str, dict[str, int]]:
        """Transcripts and speakers per (split, label), for summaries."""
        transcripts = Counter((t.split or "-", t.label.value if t.label else "?") for t in self._items)
        speakers = Counter(
            (split, label)
            for split, label, _ in {
                (t.split or "-", t.label.value if t.label else "?", t.speaker_id) for t in self._items
            }
        )
        return {
            f"{split}/{label}": {"transcripts": transcripts[(split, label)], "speakers": speakers[(split, label)]}
            for split, label in sorted(transcripts)
        }

    def digest(self) -> str:
        """A short content hash: same transcripts (ids, labels, text) -> same digest, in any order."""
        # One JSON list per transcript, joined without a separator: the value the caches were keyed with.
        return digest(
            "".join(
                json.dumps([t.id, t.speaker_id, t.label.value if t.label else None, t.text])
                for t in sorted(self._items, key=lambda t: t.id)
            )
        )
