"""The scene reaches every prompt a generator sees: SFT rows, preference pairs, trained and prompt-only generation."""

from __future__ import annotations

import pytest

from augment import runner
from augment.pairs import PairConfig, build_pairs
from augment.prompt_only import FewShotPrompter, PromptOnlyConfig
from augment.prompts import SCENE, STYLES, task_messages
from augment.stages import sft_dataset
from detect.info_units import ENTITIES
from detect.markers import MarkerExtractor
from detect.readers import load_corpus


@pytest.fixture(scope="module")
def train_slice():
    train = load_corpus().by_split("train")
    return [t for t in train if t.label.value == "AD"][:6] + [t for t in train if t.label.value == "HC"][:6]


def last_user(messages) -> str:
    return [m["content"] for m in messages if m["role"] == "user"][-1]


def test_the_scene_names_every_object_and_person_of_the_picture():
    from detect.info_units import find_info_units

    named = find_info_units(SCENE)
    assert set(ENTITIES) <= named, sorted(set(ENTITIES) - named)


@pytest.mark.parametrize("mode", ["separate", "conditional"])
@pytest.mark.slow
def test_training_rows_and_pairs_carry_the_scene(train_slice, mode):
    rows = sft_dataset(train_slice, STYLES, mode)
    assert len(rows) == len(train_slice) and all(SCENE in last_user(r["prompt"]) for r in rows)
    pairs = build_pairs(train_slice, PairConfig(strategies=("real", "degraded"), mode=mode),
                        extractor=MarkerExtractor()).pairs
    assert pairs and all(SCENE in last_user(p.prompt) for p in pairs)


def test_trained_and_prompt_only_generation_carry_the_scene_in_the_last_user_turn(train_slice, tmp_path):
    for style in STYLES:
        job = runner.adapter_job(tmp_path / "a.jsonl", 2, style, "served", None, mode="conditional")
        assert job.prompts(0) == task_messages(style, "conditional") and SCENE in last_user(job.prompts(1))
        prompter = FewShotPrompter(train_slice, style, PromptOnlyConfig(shots=2, seed=0))
        messages = prompter(0)
        users = [m["content"] for m in messages if m["role"] == "user"]
        assert len(users) == 3 and SCENE in users[-1]
        assert not any(SCENE in u for u in users[:-1]), "the scene once, in the turn the model answers"
