"""The simulated ADReSS-style Cookie Theft cohort shipped in ``detect/data/simulated`` (SIMULATED, not clinical data).

The cohort stands in for ADReSS 2020 (DementiaBank Pitt), which cannot be redistributed:
156 invented speakers (train 54 HC + 54 AD, test 24 + 24) in the ADReSS folder layout, with
real CHAT notation, calibrated so that the project's own reader, markers and diversity
measures see on it what they see on real Pitt speech (``cookiebench corpus stats`` puts the two
side by side; ``cohort/measured.md`` has the table for the default seed). This package writes
it; it is not part of the installed ``cookiebench`` package (only its output is)::

    python -m cohort                          # seed 2020 -> detect/data/simulated
    python -m cohort --seed 7 --out /tmp/cohort

One job per module:

- :mod:`cohort.speakers`: who speaks (class profiles, stratified trait draws, disfluency rates);
- :mod:`cohort.grammar`: the phrase engine and the speaker's idiolect (:class:`~cohort.grammar.Voice`);
- :mod:`cohort.scene`, :mod:`cohort.talk`: the phrase bank (the picture's events; everything else said),
  with :mod:`cohort.lexicon` the words they are built from; their longest tables live in data modules of their
  own (:mod:`cohort.scene_setting`, :mod:`cohort.talk_details`, :mod:`cohort.talk_digressions`,
  :mod:`cohort.lexicon_verbs`), and :mod:`cohort.event` is the event record;
- :mod:`cohort.describe`: one description (order, content, length, utterances);
- :mod:`cohort.disfluency`: how it is said (CHAT codes for hesitations);
- :mod:`cohort.chat`: the .cha file; :mod:`cohort.layout`: the ADReSS folders, metadata, README.
"""

from cohort.layout import DEFAULT_OUT, DEFAULT_SEED, N_TEST_PER_CLASS, N_TRAIN_PER_CLASS, draw_cohort, write_cohort

__all__ = ["DEFAULT_OUT", "DEFAULT_SEED", "N_TEST_PER_CLASS", "N_TRAIN_PER_CLASS", "draw_cohort", "write_cohort"]
