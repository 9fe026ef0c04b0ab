"""Prompt-only baseline: few-shot prompts from the style's training transcripts only."""

from __future__ import annotations

import pytest

from augment.prompt_only import FewShotPrompter, PromptOnlyConfig
from augment.prompts import STYLE_HINTS
from detect.records import Label, Transcript


def t(tid: str, label: Label, split: str = "train") -> Transcript:
    text = f"transcript {tid} " + "word " * 200
    return Transcript(id=tid, speaker_id=tid, label=label, text=text, verbatim=text, split=split)


TRAIN = [t(f"A{i}", Label.AD) for i in range(5)] + [t(f"H{i}", Label.HC) for i in range(5)]


def test_prompt_names_the_style_and_shows_only_examples_of_that_style():
    prompter = FewShotPrompter(TRAIN, "ad", PromptOnlyConfig(shots=3, max_example_words=50))
    messages = prompter(0)
    assert messages[0]["role"] == "system"
    assert messages[-1]["role"] == "user" and STYLE_HINTS["ad"] in messages[-1]["content"]
    examples = [m["content"] for m in messages if m["role"] == "assistant"]
    assert len(examples) == 3 and all(e.startswith("transcript A") for e in examples)
    assert all(len(e.split()) == 50 for e in examples)
    assert prompter.parents(0) == tuple(e.split()[1] for e in examples)


def test_examples_vary_by_record_and_reproduce_by_seed():
    prompter = FewShotPrompter(TRAIN, "hc", PromptOnlyConfig(shots=2, seed=1))
    assert prompter(3) == FewShotPrompter(TRAIN, "hc", PromptOnlyConfig(shots=2, seed=1))(3)
    assert len({prompter.parents(i) for i in range(10)}) > 1
    assert all(p.startswith("H") for i in range(10) for p in prompter.parents(i))


def test_too_few_transcripts_is_a_clear_error():
    with pytest.raises(ValueError, match="needs 3 training transcripts"):
        FewShotPrompter(TRAIN[:2], "ad", PromptOnlyConfig(shots=3))
