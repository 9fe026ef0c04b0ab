"""Classic (EDA-style) augmentation of real transcripts, with no external resources.

Each operation takes one real transcript's verbatim text and an ``intensity`` in [0, 1]
(the share of words or sentences touched) and returns a new verbatim text:

- ``noise``: replace words with words drawn from the corpus's own vocabulary
  (unigram noise; no thesaurus or embeddings needed).
- ``deletion``: drop random words.
- ``swap``: swap random pairs of neighbouring words.
- ``disfluency``: insert fillers ("uh", "um"), repeat words (retracing) and trail off ("...").
- ``shuffle``: shuffle the order of sentences/utterances.

The result is a :class:`~augment.synthetic.SyntheticDescription` with the parent's label
as its style, so classic augmentation goes through the same filters as generated text.

Example::

    from detect.readers import load_corpus
    from augment.classic import ClassicConfig, classic_augment

    train = load_corpus().by_split("train")
    records = classic_augment(train, ClassicConfig(ops=("swap", "disfluency"), intensity=0.1), per_transcript=2)
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Sequence
from typing import Literal, get_args

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from augment.prompts import LABEL_STYLE
from augment.synthetic import GeneratorInfo, SyntheticDescription
from detect.records import Transcript

logger = logging.getLogger(__name__)

Op = Literal["noise", "deletion", "swap", "disfluency", "shuffle"]
OPS: tuple[Op, ...] = get_args(Op)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(config=ConfigDict(extra="forbid"))
class ClassicConfig:
    """Which operations to apply and how hard."""

    ops: tuple[Op, ...] = Field(
        default=OPS, min_length=1, description="Operations to use, one per augmented copy, in turn."
    )
    intensity: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Share of words (or sentences) an operation touches."
    )
    seed: int = Field(default=0, description="Seed of the random generator; same seed, same output.")


def _count(n: int, intensity: float, rng: random.Random) -> int:
    """How many of ``n`` items to touch: at least one when intensity > 0, probabilistic rounding."""
    if intensity <= 0 or n == 0:
        return 0
    exact = n * intensity
    k = int(exact) + (rng.random() < exact - int(exact))
    return min(n, max(1, k))


def noise(tokens: list[str], intensity: float, rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    out = list(tokens)
    if not vocabulary:
        return out
    for i in rng.sample(range(len(out)), _count(len(out), intensity, rng)):
        out[i] = rng.choice(vocabulary)
    return out


def deletion(tokens: list[str], intensity: float, rng: random.Random) -> list[str]:
    drop = set(rng.sample(range(len(tokens)), _count(len(tokens), intensity, rng)))
    if len(drop) >= len(tokens):  # never delete everything
        drop.discard(rng.randrange(len(tokens)))
    return [t for i, t in enumerate(tokens) if i not in drop]


def swap(tokens: list[str], intensity: float, rng: random.Random) -> list[str]:
    out = list(tokens)
    if len(out) < 2:
        return out
    for _ in range(_count(len(out) - 1, intensity, rng)):
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def disfluency(tokens: list[str], intensity: float, rng: random.Random) -> list[str]:
    out: list[str] = []
    chosen = set(rng.sample(range(len(tokens)), _count(len(tokens), intensity, rng)))
    for i, tok in enumerate(tokens):
        if i in chosen:
            kind = rng.random()
            if kind < 0.5:
                out.append(rng.choice(("uh", "um")))
            elif kind < 0.8:
                out.append(tok.rstrip(".,!?"))  # retracing: "the the boy"
            else:
                out.append(tok.rstrip(".,!?") + " ...")  # trailing off, then the speaker restarts
                continue
        out.append(tok)
    return out


def shuffle(text: str, intensity: float, rng: random.Random) -> str:
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    if len(sentences) < 2:
        return text
    k = max(2, _count(len(sentences), intensity, rng))
    idx = sorted(rng.sample(range(len(sentences)), min(k, len(sentences))))
    moved = [sentences[i] for i in idx]
    rng.shuffle(moved)
    for i, s in zip(idx, moved, strict=True):
        sentences[i] = s
    return " ".join(sentences)


def augment_text(text: str, op: str, intensity: float, rng: random.Random, vocabulary: Sequence[str] = ()) -> str:
    """One operation applied to one verbatim text."""
    if op == "shuffle":
        return shuffle(text, intensity, rng)
    tokens = text.split()
    if not tokens:
        return text
    if op == "noise":
        tokens = noise(tokens, intensity, rng, vocabulary)
    elif op == "deletion":
        tokens = deletion(tokens, intensity, rng)
    elif op == "swap":
        tokens = swap(tokens, intensity, rng)
    elif op == "disfluency":
        tokens = disfluency(tokens, intensity, rng)
    else:
        raise ValueError(f"unknown classic op {op!r}; choose from {OPS}")
    return " ".join(tokens)


def _source_text(t: Transcript) -> str:
    return t.verbatim or t.text


def classic_augment(
    transcripts: Sequence[Transcript], config: ClassicConfig | None = None, *, per_transcript: int = 1
) -> list[SyntheticDescription]:
    """``per_transcript`` augmented copies of each labelled transcript, ops used in turn.

    The vocabulary for ``noise`` comes from these transcripts only (the training fold),
    so nothing outside the fold leaks in.
    """
    config = config or ClassicConfig()
    rng = random.Random(config.seed)
    labelled = [t for t in transcripts if t.label is not None]
    if len(labelled) < len(transcripts):
        logger.info("classic augmentation skips %d unlabelled transcripts", len(transcripts) - len(labelled))
    vocabulary = sorted({w for t in labelled for w in _source_text(t).split() if w.isalpha()})
    out: list[SyntheticDescription] = []
    for t in labelled:
        label = t.label
        assert label is not None, "labelled above"
        for copy in range(per_transcript):
            op = config.ops[(len(out)) % len(config.ops)]
            text = augment_text(_source_text(t), op, config.intensity, rng, vocabulary)
            out.append(
                SyntheticDescription(
                    id=f"classic-{op}-{t.id}-{copy}",
                    style=LABEL_STYLE[label],
                    text=text,
                    generator=GeneratorInfo(
                        kind="classic", method=op, config_hash=f"i{config.intensity:g}-s{config.seed}"
                    ),
                    parent_ids=(t.id,),
                )
            )
    return out


def selection_require(require: Sequence[str]) -> tuple[str, ...]:
    """The verdicts a classic copy must pass: those asked for, but never 'privacy'.

    Classic copies are edits of real training transcripts by design, so they always fail
    'privacy'; they stay inside the training fold and are never shared, so the verdict is
    recorded for the report but cannot be a reason to drop them.
    """
    return tuple(r for r in require if r != "privacy")
