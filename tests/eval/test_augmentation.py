"""How the benchmark spreads a generation round over Ray tasks (without a model: files on disk).

The rounds themselves are tested in tests/augment/test_synthesize.py; a round completed on Ray
tasks, with real vLLMs, in tests/eval/test_benchmark.py.
"""

from __future__ import annotations

from augment.runner import Generator, Job
from augment.synthesize import GenerationFile
from eval.augmentation import deal


def test_a_round_is_dealt_to_workers_by_generator_in_shares_of_about_equal_work(tmp_path):
    def job(group, name, style, n, have=0):
        out = tmp_path / f"{group}-{name}-{style}.jsonl"
        if have:
            out.write_text("{}\n" * have)
        return GenerationFile(group, name, Job(out, n, style, Generator(name), lambda i: []))

    jobs = [
        job("g1", "sft", "ad", 40),
        job("g1", "sft", "hc", 40),
        job("g1", "dpo", "ad", 30),
        job("g1", "dpo", "hc", 30),
        job("g2", "sft", "ad", 40, have=40),
        job("g2", "sft", "hc", 40, have=40),
        job("g2", "dpo", "ad", 30, have=10),
        job("g2", "dpo", "hc", 30),
    ]
    shares = deal(jobs, 2)
    names = [sorted({(j.key, j.job.generator.name) for j in share}) for share in shares]
    # g1-sft (80 missing) alone; g1-dpo (60) and g2-dpo (50) together; g2-sft is complete
    assert names == [[("g1", "sft")], [("g1", "dpo"), ("g2", "dpo")]]
    assert [j.job.out.name for j in shares[0]] == ["g1-sft-ad.jsonl", "g1-sft-hc.jsonl"]
    assert len(deal(jobs, 8)) == 3  # no more shares than generators with work
    assert deal(jobs[4:6], 2) == []  # nothing to generate: no task
