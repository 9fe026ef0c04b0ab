"""The cohort on disk: speakers drawn in a fixed order, written in the ADReSS 2020 folder layout.

The same seed gives byte-identical files: every draw comes from one ``random.Random(seed)`` in
a fixed order, nothing iterates a set or reads the clock.
"""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path

from cohort.chat import write_chat
from cohort.speakers import Speaker, draw_class, make_speaker

logger = logging.getLogger(__name__)

DEFAULT_SEED = 2020
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "detect" / "data" / "simulated"
MEASURED = Path(__file__).resolve().parent / "measured.md"  # the default seed's statistics (see README below)

N_TRAIN_PER_CLASS = 54
N_TEST_PER_CLASS = 24


def draw_cohort(seed: int) -> tuple[list[Speaker], dict[str, str]]:
    """Speakers and their CHAT text, keyed by speaker id; no files written.

    Each part draws from its own generator, seeded by ``seed`` and its name (a string seed is
    hashed with SHA-512 by :class:`random.Random`, the same on every machine): the test split's
    order, each class's traits, each speaker's metadata, what each speaker says (content) and
    how (delivery: hesitations, tiers, timings). Changing how one part is drawn leaves the
    others' draws as they were.
    """
    n = N_TRAIN_PER_CLASS + N_TEST_PER_CLASS
    traits = {label: draw_class(random.Random(f"{seed}:traits:{label}"), label, n) for label in ("HC", "AD")}
    plan: list[tuple[str, str, dict]] = []  # label, split, traits; ADReSS numbers controls (cc) first
    for label in ("HC", "AD"):
        plan += [(label, "train", traits[label][i]) for i in range(N_TRAIN_PER_CLASS)]
    test_labels = ["AD"] * N_TEST_PER_CLASS + ["HC"] * N_TEST_PER_CLASS
    random.Random(f"{seed}:test-order").shuffle(test_labels)
    taken = {"AD": N_TRAIN_PER_CLASS, "HC": N_TRAIN_PER_CLASS}
    for label in test_labels:
        plan.append((label, "test", traits[label][taken[label]]))
        taken[label] += 1
    speakers: list[Speaker] = []
    chats: dict[str, str] = {}
    for number, (label, split, drawn) in enumerate(plan, start=1):
        sid = f"S{number:03d}"
        speaker = make_speaker(random.Random(f"{seed}:speaker:{sid}"), sid, label, split, drawn)
        speakers.append(speaker)
        chats[sid] = write_chat(
            random.Random(f"{seed}:content:{sid}"), random.Random(f"{seed}:delivery:{sid}"), speaker
        )
    return speakers, chats


def _meta_row(*cells: object) -> str:
    return " ; ".join("NA" if c is None else str(c) for c in cells) + "\n"


README = """\
# Simulated ADReSS-style Cookie Theft cohort

**Simulated data, not clinical data.** No real person said any of this. These files stand in
for ADReSS 2020 (a subset of DementiaBank Pitt), which cannot be redistributed, so that
cookiebench installs, runs and tests without a data-use agreement. Every `.cha` file says so
in its `@Comment` header.

## Layout (same as ADReSS 2020)

```
train/cc_meta_data.txt, train/cd_meta_data.txt   ID ; age ; gender ; mmse   (HC / AD)
train/transcription/cc/*.cha                     {n_train} HC speakers
train/transcription/cd/*.cha                     {n_train} AD speakers
test/meta_data.txt                               ID ; age ; gender          (no labels)
test/meta_data_test.txt                          ID ; age ; gender ; Label ; mmse  (0 = HC, 1 = AD)
test/transcription/*.cha                         {n_test} AD + {n_test} HC, ids shuffled
```

## How it was made

`python -m cohort --seed {seed}` (the `cohort/` package at the repository root, not part of the
installed package; its docstrings have the details). Each speaker gets traits drawn from
overlapping class distributions, stratified so that each class has the spread of real speakers:
a latent severity (how many of the picture's events are described, how vaguely, how much
empty talk and hesitation), a heavy-tailed length, utterance, hedging and pronoun habits, a
tendency to drift off the picture (comments, inferences, memories), and disfluency rates.
Sentences are built from a compositional phrase bank (many wordings per event, referent and
digression) through the speaker's own idiolect: a favourite wording at each choice point,
favourite fillers, hedges and openers, so speakers differ from each other as real ones do.
The CHAT mixes the notations real Pitt files have: old `&uh` and new `&-uh` fillers,
fragments (`&wa`, `&+wa`), events (`&=laughs`), `xxx`, pauses (`(.)` ... `(2.5)`), `[/]` and
`[//]` retracings, `[: target] [* p:w]` error codes, shortenings (`fallin(g)`), `+...` and
`+/.`, asides excluded with `[+ exc]`, overlaps (`[>]` on one word, `+<` on the reply), media
bullets, continuation lines, `@G` gems, and `%mor`/`%gra` tiers (CLAN-style in old files,
UD-style with `%wor` word timings in new ones).

## Regenerate

```
python -m cohort --seed {seed} --out detect/data/simulated
```

The same seed gives byte-identical files (checked by `tests/detect/test_cohort.py`).

## Measured statistics

`cookiebench corpus stats` measures the cohort beside the real Pitt figures; with
`--out cohort/measured.md` it writes what `python -m cohort` copies here for the default seed:

{stats}
"""


def write_cohort(out: Path, seed: int = DEFAULT_SEED) -> list[Speaker]:
    """Write the cohort under ``out`` (replacing train/ and test/ there) and return its speakers."""
    speakers, chats = draw_cohort(seed)
    out = Path(out)
    for sub in ("train", "test"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    (out / "train/transcription/cc").mkdir(parents=True)
    (out / "train/transcription/cd").mkdir(parents=True)
    (out / "test/transcription").mkdir(parents=True)

    header_train = "ID   ; age; gender ; mmse\n"
    cc = [header_train]
    cd = [header_train]
    test_meta = ["ID   ; age; gender\n"]
    test_labels = ["ID   ; age; gender ; Label ; mmse\n"]
    for sp in speakers:
        if sp.split == "train":
            sub = "cc" if sp.label == "HC" else "cd"
            path = out / "train/transcription" / sub / f"{sp.id}.cha"
            (cc if sp.label == "HC" else cd).append(_meta_row(f"{sp.id:<4}", sp.age, sp.gender, sp.mmse))
        else:
            path = out / "test/transcription" / f"{sp.id}.cha"
            test_meta.append(_meta_row(sp.id, sp.age, sp.gender))
            test_labels.append(_meta_row(sp.id, sp.age, sp.gender, 1 if sp.label == "AD" else 0, sp.mmse))
        path.write_bytes(chats[sp.id].encode("utf-8"))
    for name, rows in (
        ("train/cc_meta_data.txt", cc),
        ("train/cd_meta_data.txt", cd),
        ("test/meta_data.txt", test_meta),
        ("test/meta_data_test.txt", test_labels),
    ):
        (out / name).write_bytes("".join(rows).encode("utf-8"))
    if seed == DEFAULT_SEED and MEASURED.exists():
        stats = MEASURED.read_text(encoding="utf-8").rstrip("\n")
    else:
        stats = "Not measured for this seed: `cookiebench corpus stats PATH` measures it."
    readme = README.format(n_train=N_TRAIN_PER_CLASS, n_test=N_TEST_PER_CLASS, seed=seed, stats=stats)
    (out / "README.md").write_bytes(readme.encode("utf-8"))
    logger.debug("wrote %d speakers to %s", len(speakers), out)
    return speakers
