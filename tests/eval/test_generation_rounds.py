"""Generation tops up in rounds until the largest ratio's records pass the filters, within
``generation.max_rounds``; a resume replays the rounds over the files without a request.

No model: the fake OpenAI endpoint answers every even seed with a description that passes
every filter and every odd seed with an empty one (fails 'length'), so half of each round
passes, which fixes each round's size by hand.
"""

from __future__ import annotations

import logging


from eval.benchmark import generate_synthetic, plan, run_jobs, top_up
from eval.config import BenchmarkConfig
from tests.augment.fake_endpoint import FakeEndpoint
from tests.augment.quality_fixture import write_corpus

# Hand-written sentence halves: record i of a style says FIRST[i % 7] + SECOND[i % 5], so no two
# records within 35 repeat each other and each names at least three information units.
HC = ([
    "the boy balances on a stool to take cookies from the jar",
    "a girl waits by the cupboard for her brother to hand down a cookie",
    "the mother dries a dish while the faucet keeps running",
    "water spills over the edge of the sink onto the kitchen floor",
    "the stool wobbles under the boy as he leans toward the cookie jar",
    "outside the window there is a garden with a lawn and a path",
    "cups and a plate stand on the counter next to the sink",
], [
    "and the mother never notices the water on the floor",
    "while the woman looks away toward the open curtains",
    "and the little girl puts a finger to her lips",
    "so the whole kitchen floor is getting wet and slippery",
    "and it looks like the boy on the stool is about to fall",
])
AD = ([
    "uh the boy um he is getting the cookie",
    "um the the mother she is at the sink",
    "uh the water it is um going over the floor",
    "the girl uh she she wants the cookie",
    "um there is a jar and uh the boy",
    "uh the stool it is um tipping with the boy",
    "the lady um she is drying the uh dish",
], [
    "and uh I do not know um what else there is",
    "and um it is all wet there on the floor",
    "and he he is up on that thing by the cupboard",
    "and uh she is um not looking at the sink",
    "and that is um all I see in the kitchen",
])


def description(body: dict) -> str:
    first, second = AD if "Alzheimer" in body["messages"][-1]["content"] else HC
    seed = body["seed"]
    return f"{first[seed % 7]} {second[seed % 5]}"


def config_for(tmp_path, endpoint: str, max_rounds: int, best_of: int = 1) -> BenchmarkConfig:
    return BenchmarkConfig(
        name="rounds", corpus=write_corpus(tmp_path / "real.csv"), output_dir=tmp_path / "run",
        protocol={"split": "adress", "repeats": 1}, conditions=["none", "prompt-only"], ratios=[0.5, 1.0],
        classifiers=["tfidf"], generation={"endpoint": endpoint, "few_shot": 1, "concurrency": 4,
                                           "max_rounds": max_rounds, "best_of": best_of})


def run(config: BenchmarkConfig):
    from detect.markers import MarkerExtractor

    _, _, groups = plan(config)
    generate_synthetic(config, groups, config.run_dir(), MarkerExtractor(),
                       lambda jobs: run_jobs(config, jobs, config.run_dir(), lambda *args: None))
    (group,) = groups.values()
    return group


def test_top_up_asks_for_the_shortfall_over_the_pass_rate_bounded_by_the_first_round():
    assert top_up(passed=3, wanted=4, generated=6, first=6, oversample=1.5) == 3  # 1 x 1.5 / 0.5
    assert top_up(passed=1, wanted=40, generated=60, first=60, oversample=1.5) == 60  # never more than round 1
    assert top_up(passed=0, wanted=4, generated=6, first=6, oversample=1.5) == 6
    assert top_up(passed=4, wanted=4, generated=6, first=6, oversample=1.5) == 0
    assert top_up(passed=3, wanted=4, generated=6, first=6, oversample=1.5, best_of=2) == 4  # whole pairs


def test_best_of_n_generates_n_candidates_per_record_and_keeps_one_of_each(tmp_path):
    even = lambda n, body: "ok" if body["seed"] % 2 == 0 else "blank"  # noqa: E731
    with FakeEndpoint(even, text=description) as fake:
        group = run(config_for(tmp_path, fake.url, max_rounds=3, best_of=2))
    for style in ("ad", "hc"):
        # 4 wanted x 1.5 = 6 descriptions of 2 candidates each; one of each pair passes: one round
        outcome = group.generation[("prompt-only", style)]
        assert (outcome.generated, outcome.passed, outcome.rounds) == (12, 6, 1)
        records = [r for r in group.records["prompt-only"] if r.style == style]
        assert [r.verdicts["best_of"].passed for r in records] == [True, False] * 6
    assert [t.id.rsplit("-", 1)[1] for t in group.synthetic["prompt-only"]] == [f"{i:06d}" for i in range(0, 12, 2)] * 2


def test_short_files_get_more_rounds_and_a_resume_asks_for_nothing(tmp_path):
    even = lambda n, body: "ok" if body["seed"] % 2 == 0 else "blank"  # noqa: E731
    with FakeEndpoint(even, text=description) as fake:
        config = config_for(tmp_path, fake.url, max_rounds=3)
        group = run(config)
        # 4 training transcripts per class x ratio 1.0 = 4 wanted per style; round 1 asks for
        # 4 x 1.5 = 6 (3 pass), round 2 for (4 - 3) x 1.5 / 0.5 = 3 more (2 pass): 5 >= 4.
        for style in ("ad", "hc"):
            outcome = group.generation[("prompt-only", style)]
            assert (outcome.generated, outcome.passed, outcome.wanted, outcome.rounds) == (9, 5, 4, 2)
            lines = (config.run_dir() / "synthetic" / group.key / f"prompt-only-{style}.jsonl").read_text().splitlines()
            assert len(lines) == 9
        assert len(fake.requests) == 18
        kept = [t.id for t in group.synthetic["prompt-only"]]
        assert len(kept) == len(set(kept)) == 10

        again = run(config)  # a resume: the same rounds over the files on disk
        assert len(fake.requests) == 18
        assert [t.id for t in again.synthetic["prompt-only"]] == kept
        assert again.generation == group.generation


def test_a_file_still_short_after_the_last_round_says_so(tmp_path, caplog):
    first_six = lambda n, body: "ok" if body["seed"] % 2 == 0 and body["seed"] < 6 else "blank"  # noqa: E731
    with FakeEndpoint(first_six, text=description) as fake, caplog.at_level(logging.WARNING, logger="eval.benchmark"):
        group = run(config_for(tmp_path, fake.url, max_rounds=2))
    for style in ("ad", "hc"):
        outcome = group.generation[("prompt-only", style)]
        assert (outcome.generated, outcome.passed, outcome.wanted, outcome.rounds) == (9, 3, 4, 2)
        assert outcome.short
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "rounds" in r.getMessage()]
    assert len(warnings) == 2 and "3 of the 4 records" in warnings[0]


def test_a_rerun_from_scratch_trains_every_cell_on_the_same_synthetic_records(tmp_path):
    """Requests finish in another order each time (early seeds answer last here); every cell
    must still get the same records, so a fresh rerun repeats the experiment, not a new one."""
    from eval.benchmark import extras_for

    def run_once(folder, slow_below: int) -> dict:
        folder.mkdir()
        behaviour = lambda n, body: "slow" if body["seed"] < slow_below else "ok"  # noqa: E731
        with FakeEndpoint(behaviour, text=description, hang_s=0.3) as fake:
            group = run(config_for(folder, fake.url, max_rounds=1))
        return {ratio: [(t.id, t.text, t.label) for t in extras_for(group, "prompt-only", ratio)] for ratio in (0.5, 1.0)}

    first, second = run_once(tmp_path / "a", slow_below=0), run_once(tmp_path / "b", slow_below=3)
    assert first[1.0] and first == second
    assert set(first[0.5]) < set(first[1.0]), "ratios are nested subsets"


def test_a_round_is_dealt_to_workers_by_generator_in_shares_of_about_equal_work(tmp_path):
    from augment.runner import Generator, Job
    from eval.benchmark import GenerationJob, deal

    def job(group, name, style, n, have=0):
        out = tmp_path / f"{group}-{name}-{style}.jsonl"
        if have:
            out.write_text("{}\n" * have)
        return GenerationJob(group, name, Job(out, n, style, Generator(name), lambda i: []))

    jobs = [job("g1", "sft", "ad", 40), job("g1", "sft", "hc", 40), job("g1", "dpo", "ad", 30),
            job("g1", "dpo", "hc", 30), job("g2", "sft", "ad", 40, have=40), job("g2", "sft", "hc", 40, have=40),
            job("g2", "dpo", "ad", 30, have=10), job("g2", "dpo", "hc", 30)]
    shares = deal(jobs, 2)
    names = [sorted({(j.group, j.job.generator.name) for j in share}) for share in shares]
    # g1-sft (80 missing) alone; g1-dpo (60) and g2-dpo (50) together; g2-sft is complete
    assert names == [[("g1", "sft")], [("g1", "dpo"), ("g2", "dpo")]]
    assert [j.job.out.name for j in shares[0]] == ["g1-sft-ad.jsonl", "g1-sft-hc.jsonl"]
    assert len(deal(jobs, 8)) == 3  # no more shares than generators with work
    assert deal(jobs[4:6], 2) == []  # nothing to generate: no task
