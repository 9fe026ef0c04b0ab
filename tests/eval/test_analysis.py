"""The summary table and its sentences say how much synthetic text each cell really used."""

import pandas as pd

from eval.analysis import format_table, sentences, summary_table


def _scores(n_extra: int, n_wanted: int | None) -> pd.DataFrame:
    rows = []
    for fold, (base, aug) in enumerate([(0.70, 0.72), (0.74, 0.75), (0.68, 0.71)]):
        rows.append(dict(classifier="tfidf", condition="none", ratio=0.0, seed=0, fold=fold, f1=base, auroc=0.8,
                         n_extra=0, n_wanted=0))
        rows.append(dict(classifier="tfidf", condition="dpo", ratio=0.5, seed=0, fold=fold, f1=aug, auroc=0.81,
                         n_extra=n_extra, n_wanted=n_wanted))
    frame = pd.DataFrame(rows)
    return frame.drop(columns="n_wanted") if n_wanted is None else frame


def test_a_cell_short_of_its_ratio_shows_used_of_wanted_and_says_why():
    table = summary_table(_scores(n_extra=24, n_wanted=52), test_fraction=0.5)
    dpo = table[table.condition == "dpo"].iloc[0]
    assert (dpo.synthetic, dpo.wanted) == (24, 52)
    assert format_table(table).synthetic.tolist() == ["—", "24/52"]
    said = " ".join(sentences(table))
    assert "24 synthetic transcripts per training set of the 52 the ratio asks for" in said


def test_a_full_cell_states_no_shortfall():
    table = summary_table(_scores(n_extra=52, n_wanted=52), test_fraction=0.5)
    assert format_table(table).synthetic.tolist() == ["—", "52/52"]
    assert "asks for" not in " ".join(sentences(table))


def test_scores_from_before_the_wanted_column_still_summarise():
    table = summary_table(_scores(n_extra=24, n_wanted=None), test_fraction=0.5)
    assert format_table(table).synthetic.tolist() == ["—", "24"]
    assert "asks for" not in " ".join(sentences(table))
