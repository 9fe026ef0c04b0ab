"""Synthetic data for a training set tops up in rounds until the ratio's records pass the
filters, within ``max_rounds``; a rerun replays the rounds over the files without a request.

No model: the fake OpenAI endpoint answers every even seed with a description that passes
every filter and every odd seed with an empty one (fails 'length'), so half of each round
passes, which fixes each round's size by hand.
"""

from __future__ import annotations

import logging
import statistics

import pytest

from augment import runner
from augment.filters import FilterConfig
from augment.generation_config import SamplingConfig
from augment.prompt_only import PromptOnlyConfig
from augment.prompts import real_lengths
from augment.synthesize import PROMPT_ONLY, SynthesisConfig, TrainingSet, synthesize, top_up, wanted
from detect.markers import MarkerExtractor
from detect.readers import load_corpus
from tests.augment.fake_endpoint import FakeEndpoint
from tests.augment.quality_fixture import write_corpus

# Hand-written sentence halves: record i of a style says FIRST[i % 7] + SECOND[i % 5], so no two
# records within 35 repeat each other and each names at least three information units.
HC = (
    [
        "the boy balances on a stool to take cookies from the jar",
        "a girl waits by the cupboard for her brother to hand down a cookie",
        "the mother dries a dish while the faucet keeps running",
        "water spills over the edge of the sink onto the kitchen floor",
        "the stool wobbles under the boy as he leans toward the cookie jar",
        "outside the window there is a garden with a lawn and a path",
        "cups and a plate stand on the counter next to the sink",
    ],
    [
        "and the mother never notices the water on the floor",
        "while the woman looks away toward the open curtains",
        "and the little girl puts a finger to her lips",
        "so the whole kitchen floor is getting wet and slippery",
        "and it looks like the boy on the stool is about to fall",
    ],
)
AD = (
    [
        "uh the boy um he is getting the cookie",
        "um the the mother she is at the sink",
        "uh the water it is um going over the floor",
        "the girl uh she she wants the cookie",
        "um there is a jar and uh the boy",
        "uh the stool it is um tipping with the boy",
        "the lady um she is drying the uh dish",
    ],
    [
        "and uh I do not know um what else there is",
        "and um it is all wet there on the floor",
        "and he he is up on that thing by the cupboard",
        "and uh she is um not looking at the sink",
        "and that is um all I see in the kitchen",
    ],
)


def description(body: dict) -> str:
    first, second = AD if "Alzheimer" in body["messages"][-1]["content"] else HC
    seed = body["seed"]
    return f"{first[seed % 7]} {second[seed % 5]}"


def config_for(max_rounds: int, best_of: int = 1) -> SynthesisConfig:
    return SynthesisConfig(
        ratio=1.0,
        oversample=1.5,
        best_of=best_of,
        max_rounds=max_rounds,
        mode="separate",
        prompt_only=PromptOnlyConfig(shots=1, seed=0),
        filters=FilterConfig(),
    )


def run(folder, endpoint: str, config: SynthesisConfig, sampling: SamplingConfig | None = None):
    """The prompt-only source's synthetic data for the fixture's training set (4 AD, 4 HC)."""
    train = TrainingSet("g", load_corpus(write_corpus(folder / "real.csv")).by_split("train"))
    backend = runner.Backend(endpoint=endpoint, concurrency=4)

    def run_round(files):
        runner.run_jobs([f.job for f in files], backend, sampling or SamplingConfig(seed=0))

    data = synthesize(
        [train], [PROMPT_ONLY], folder / "synthetic", config, run_round=run_round, extractor=MarkerExtractor()
    )
    return data["g"][PROMPT_ONLY]


def test_top_up_asks_for_the_shortfall_over_the_pass_rate_bounded_by_the_first_round():
    assert top_up(passed=3, wanted=4, generated=6, first=6, oversample=1.5) == 3  # 1 x 1.5 / 0.5
    assert top_up(passed=1, wanted=40, generated=60, first=60, oversample=1.5) == 60  # never more than round 1
    assert top_up(passed=0, wanted=4, generated=6, first=6, oversample=1.5) == 6
    assert top_up(passed=4, wanted=4, generated=6, first=6, oversample=1.5) == 0
    assert top_up(passed=3, wanted=4, generated=6, first=6, oversample=1.5, best_of=2) == 4  # whole pairs


def test_best_of_n_generates_n_candidates_per_record_and_keeps_one_of_each(tmp_path):
    even = lambda n, body: "ok" if body["seed"] % 2 == 0 else "blank"  # noqa: E731
    with FakeEndpoint(even, text=description) as fake:
        synthetic = run(tmp_path, fake.url, config_for(max_rounds=3, best_of=2))
    for style in ("ad", "hc"):
        # 4 wanted x 1.5 = 6 descriptions of 2 candidates each; one of each pair passes: one round
        outcome = synthetic.outcomes[style]
        assert (outcome.generated, outcome.passed, outcome.rounds) == (12, 6, 1)
        records = [r for r in synthetic.records if r.style == style]
        assert [r.verdicts["best_of"].passed for r in records] == [True, False] * 6
    assert [t.id.rsplit("-", 1)[1] for t in synthetic.kept] == [f"{i:06d}" for i in range(0, 12, 2)] * 2


def test_length_spread_draws_each_records_budget_from_its_styles_training_lengths(tmp_path):
    sampling = SamplingConfig(seed=0, max_tokens=100, length_spread=1.0)
    with FakeEndpoint(lambda n, body: "ok", text=description) as fake:
        synthetic = run(tmp_path, fake.url, config_for(max_rounds=1), sampling)
    train = load_corpus(write_corpus(tmp_path / "again.csv")).by_split("train")
    budgets = {}
    for style in ("ad", "hc"):
        lengths = real_lengths(train, style)  # the training speakers' only: the split is all synthesize sees
        budgets[style] = {r.sampling.max_tokens for r in synthetic.records if r.style == style}
        assert budgets[style] <= {round(100 * n / statistics.fmean(lengths)) for n in lengths}
        asked = [b for b in fake.requests if ("Alzheimer" in b["messages"][-1]["content"]) == (style == "ad")]
        assert {b["max_tokens"] for b in asked} == budgets[style]
    assert budgets["ad"] == {100} and len(budgets["hc"]) > 1  # the fixture's AD texts are all 19 words long


@pytest.mark.slow
def test_short_files_get_more_rounds_and_a_rerun_asks_for_nothing(tmp_path):
    even = lambda n, body: "ok" if body["seed"] % 2 == 0 else "blank"  # noqa: E731
    with FakeEndpoint(even, text=description) as fake:
        config = config_for(max_rounds=3)
        synthetic = run(tmp_path, fake.url, config)
        # 4 training transcripts per class x ratio 1.0 = 4 wanted per style; round 1 asks for
        # 4 x 1.5 = 6 (3 pass), round 2 for (4 - 3) x 1.5 / 0.5 = 3 more (2 pass): 5 >= 4.
        for style in ("ad", "hc"):
            outcome = synthetic.outcomes[style]
            assert (outcome.generated, outcome.passed, outcome.wanted, outcome.rounds) == (9, 5, 4, 2)
            lines = (tmp_path / "synthetic" / "g" / f"prompt-only-{style}.jsonl").read_text().splitlines()
            assert len(lines) == 9
        assert len(fake.requests) == 18
        kept = [t.id for t in synthetic.kept]
        assert len(kept) == len(set(kept)) == 10
        filtered = (tmp_path / "synthetic" / "g" / "prompt-only.filtered.jsonl").read_text().splitlines()
        assert len(filtered) == len(synthetic.records) == 18  # every verdict kept beside the files

        again = run(tmp_path, fake.url, config)  # a rerun: the same rounds over the files on disk
        assert len(fake.requests) == 18
        assert [t.id for t in again.kept] == kept
        assert again.outcomes == synthetic.outcomes


@pytest.mark.slow
def test_a_file_still_short_after_the_last_round_says_so(tmp_path, caplog):
    first_six = lambda n, body: "ok" if body["seed"] % 2 == 0 and body["seed"] < 6 else "blank"  # noqa: E731
    with (
        FakeEndpoint(first_six, text=description) as fake,
        caplog.at_level(logging.WARNING, logger="augment.synthesize"),
    ):
        synthetic = run(tmp_path, fake.url, config_for(max_rounds=2))
    for style in ("ad", "hc"):
        outcome = synthetic.outcomes[style]
        assert (outcome.generated, outcome.passed, outcome.wanted, outcome.rounds) == (9, 3, 4, 2)
        assert outcome.short
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "rounds" in r.getMessage()]
    assert len(warnings) == 2 and "3 of the 4 records" in warnings[0]


@pytest.mark.slow
def test_a_rerun_from_scratch_keeps_the_same_records(tmp_path):
    """Requests finish in another order each time (early seeds answer last here); the kept
    records must still be the same, in the same order, so that every cell (which takes the
    first ratio x n_real of each class) gets the same records and a fresh rerun repeats the
    experiment, not a new one."""

    def run_once(folder, slow_below: int) -> list:
        folder.mkdir()
        behaviour = lambda n, body: "slow" if body["seed"] < slow_below else "ok"  # noqa: E731
        with FakeEndpoint(behaviour, text=description, hang_s=0.3) as fake:
            synthetic = run(folder, fake.url, config_for(max_rounds=1))
        return [(t.id, t.text, t.label) for t in synthetic.kept]

    first, second = run_once(tmp_path / "a", slow_below=0), run_once(tmp_path / "b", slow_below=3)
    assert len(first) >= sum(wanted(load_corpus(tmp_path / "a" / "real.csv").by_split("train"), 1.0).values())
    assert first == second
