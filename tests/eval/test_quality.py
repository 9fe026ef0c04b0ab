"""The benchmark's quality table: augment.quality's report, one generator per condition,
TSTR tested on each group's real test folds (hand-written fixture of tests/augment/test_quality.py)."""

from __future__ import annotations

import pytest

from augment.filters import apply_filters, select
from augment.synthesize import Synthetic
from augment.synthetic import GeneratorInfo, SyntheticDescription
from detect.cv import Fold
from detect.readers import load_corpus
from eval.quality import quality_table
from eval.results import Group
from tests.augment.quality_fixture import REAL, records, write_corpus


def test_quality_table_has_a_row_per_condition_and_style_and_tests_on_the_folds(tmp_path):
    from detect.markers import MarkerExtractor

    corpus = load_corpus(write_corpus(tmp_path / "real.csv"))
    train = corpus.by_split("train")
    fold = Fold(0, 0, tuple(train.speakers()), tuple(corpus.by_split("test").speakers()))
    generated = apply_filters(records(), training=list(train))
    # classic copies edit real training transcripts: 'privacy' fails by design and is not required
    copies = apply_filters(
        [
            SyntheticDescription(
                id=f"classic-{t.id}",
                style=t.label.value.lower(),
                text=t.verbatim,
                generator=GeneratorInfo(kind="classic", method="swap"),
            )
            for t in train
        ],
        training=list(train),
    )
    group = Group(
        "g",
        train,
        (fold, Fold(1, 0, fold.train_speakers, fold.test_speakers)),  # two seeds, one test set
        synthetic={
            "sft": Synthetic(tuple(generated), tuple(r.to_transcript() for r in select(generated))),
            "classic": Synthetic(tuple(copies), tuple(r.to_transcript() for r in copies)),
        },
    )
    table, markers, report = quality_table(corpus, {"g": group}, ["none", "classic", "sft"], MarkerExtractor())

    assert table[["condition", "style"]].values.tolist() == [
        ["classic", "AD"],
        ["classic", "HC"],
        ["sft", "AD"],
        ["sft", "HC"],
    ]
    by = table.set_index(["condition", "style"])
    assert by.loc[("classic", "HC"), "passed"] == 4 and by.loc[("classic", "HC"), "privacy_rejected"] == 4
    assert by.loc[("sft", "HC"), "passed"] == 3 and by.loc[("sft", "HC"), "pass_rate"] == 0.75
    # TSTR of classic copies = TRTR: the copies are the training set
    assert by.loc[("classic", "AD"), "tstr_ratio_tfidf"] == pytest.approx(1.0)
    assert all(u.splits == 1 for g in report.generators for u in g.utility)
    assert {"real AD", "real HC", "sft AD", "sft HC", "classic AD"} <= set(markers.group)
    assert len(REAL) == len(markers[markers.group.str.startswith("real")])
