"""A hand-written real corpus and synthetic records for the quality-report tests (no patient speech).

The records are built so that the report's values can be worked out by hand: which record
fails which filter, word counts, bigrams (see tests/augment/test_quality.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

from augment.synthetic import GeneratorInfo, SyntheticDescription

# id, label, split, text. HC: long, many information units, few pronouns; AD: short, pronouns,
# fillers and repeats. Word counts of the HC training texts (fillers aside): 23, 27, 28, 32.
REAL = [
    (
        "h1",
        "HC",
        "train",
        "the boy is standing on a wobbly stool and reaching into the cookie jar while his sister "
        "waits below with her hand raised",
    ),
    (
        "h2",
        "HC",
        "train",
        "a mother is drying a plate at the kitchen sink and the water is overflowing onto the floor "
        "while the boy takes cookies from the high cupboard",
    ),
    (
        "h3",
        "HC",
        "train",
        "in the kitchen the tap is running and the sink overflows while the mother dries dishes near "
        "the open window and the curtains hang beside the garden outside",
    ),
    (
        "h4",
        "HC",
        "train",
        "the stool under the boy is tipping over as he hands a cookie to the girl and the mother "
        "stands in a puddle of water from the sink looking out the window",
    ),
    ("a1", "AD", "train", "uh the boy he is um up there and uh he is getting it and she she wants it"),
    ("a2", "AD", "train", "um there is a lady and uh she is doing the the thing there and it is um falling"),
    ("a3", "AD", "train", "uh he is on the thing and um it is going over and uh she is there with it"),
    ("a4", "AD", "train", "the the woman um she is there and uh that is water I think and he he is up"),
    (
        "h5",
        "HC",
        "test",
        "the mother washes dishes at the sink as water spills over the edge and her son climbs a "
        "stool to steal cookies for his little sister",
    ),
    (
        "h6",
        "HC",
        "test",
        "a girl reaches up for a cookie while the boy on the tilting stool grabs the jar and the "
        "mother dries a dish beside the overflowing sink",
    ),
    ("a5", "AD", "test", "uh she is um doing that and uh he is up there and it it is um going"),
    ("a6", "AD", "test", "um the the boy is there and uh she is with him and um it is wet"),
]
HC_TRAIN_WORDS = [23, 27, 28, 32]

# HC: three pass (17, 15 and 18 words); the fourth copies h1 and fails privacy.
# AD: three pass; the fourth has 3 words (fails length and on-topic).
SYNTHETIC = [
    ("hc", "the boy climbs onto a tall stool to grab cookies from the jar on the top shelf"),
    ("hc", "water pours from the sink onto the kitchen floor while the mother dries a plate"),
    ("hc", "a girl holds out her hand for a cookie as the stool begins to fall under the boy"),
    ("hc", REAL[0][3]),
    ("ad", "uh the boy um he is up on that and uh the cookie jar is um there and it it is going"),
    ("ad", "um the mother she is uh doing the the dishes and um it is all wet and uh the water"),
    ("ad", "uh the the boy um he is on it and uh the girl she she is there and uh the cookie"),
    ("ad", "uh he um"),
]
HC_PASSED_WORDS = [17, 15, 18]


def write_corpus(path: Path) -> Path:
    """REAL as a CSV corpus (one speaker per transcript, with a train/test split)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "speaker_id", "label", "split", "text"])
        for id_, label, split, text in REAL:
            writer.writerow([id_, f"spk-{id_}", label, split, text])
    return path


def records(kind: str = "merged") -> list[SyntheticDescription]:
    return [
        SyntheticDescription(
            id=f"{style}-{style}-s0-{i:06d}",
            style=style,
            text=text,
            generator=GeneratorInfo(kind=kind, adapter=style, stage="dpo", base_model="smollm2-135m-instruct"),
        )
        for i, (style, text) in enumerate(SYNTHETIC)
    ]
