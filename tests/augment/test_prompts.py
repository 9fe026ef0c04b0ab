"""The scene reaches every prompt a generator sees: SFT rows, preference pairs, trained and prompt-only generation."""

from __future__ import annotations

import pytest

from augment import runner
from augment.pair_config import PairConfig
from augment.pairs import build_pairs
from augment.prompt_only import FewShotPrompter, PromptOnlyConfig
from augment.prompts import (
    INSTRUCTIONS,
    SCENE,
    STYLE_HINTS,
    STYLE_LABEL,
    STYLES,
    TASK,
    PromptDesign,
    round_words,
    spoken,
    spoken_words,
    task_messages,
)
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
    pairs = build_pairs(
        train_slice, PairConfig(strategies=("real", "degraded"), mode=mode), extractor=MarkerExtractor()
    ).pairs
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


# -- per-record variation (PromptDesign) -------------------------------------------------------


def test_the_fixed_design_is_the_one_prompt_of_before():
    design = PromptDesign()
    assert design.is_fixed()
    for key in (0, 1, "t-7"):
        assert task_messages("ad", "separate", design, key=key, words=80) == task_messages("ad", "separate")
    assert last_user(task_messages("ad", "separate")) == f"{SCENE}\n\n{TASK}"


def test_a_varied_instruction_is_one_of_the_examiners_wordings_drawn_per_record():
    design = PromptDesign(instruction="varied")
    asked = [last_user(task_messages("ad", "separate", design, key=i)).split("\n\n")[1] for i in range(40)]
    assert set(asked) <= set(INSTRUCTIONS) and len(set(asked)) >= 5
    assert asked == [last_user(task_messages("ad", "separate", design, key=i)).split("\n\n")[1] for i in range(40)]
    conditional = last_user(task_messages("hc", "conditional", design, key=3))
    assert conditional.split("\n\n")[1].startswith(STYLE_HINTS["hc"])  # the style still named


def test_keywords_name_every_unit_without_a_phrase_of_the_prose_scene_in_a_new_order_per_record():
    from detect.info_units import find_info_units

    design = PromptDesign(scene="keywords")
    scenes = [last_user(task_messages("ad", "separate", design, key=i)).split("\n\n")[0] for i in range(5)]
    assert len(set(scenes)) == 5 and all(SCENE not in s for s in scenes)
    for scene in scenes:
        assert set(ENTITIES) <= find_info_units(scene), sorted(set(ENTITIES) - find_info_units(scene))
    prose = {tuple(SCENE.lower().split()[i : i + 4]) for i in range(len(SCENE.split()) - 3)}
    shown = scenes[0].lower().replace(",", " ").split()
    assert not {tuple(shown[i : i + 4]) for i in range(len(shown) - 3)} & prose


def test_training_rows_and_pairs_ask_for_their_texts_own_length(train_slice):
    design = PromptDesign(instruction="varied", length=True)
    rows = sft_dataset(train_slice, STYLES, "separate", design)
    for row, t in zip(rows, [t for s in STYLES for t in train_slice if t.label == STYLE_LABEL[s]], strict=True):
        assert last_user(row["prompt"]).endswith(f"Say about {round_words(spoken_words(t.verbatim))} words.")
    pairs = build_pairs(train_slice, PairConfig(strategies=("real",)), extractor=MarkerExtractor(), design=design).pairs
    assert pairs and all(
        last_user(p.prompt).endswith(f"Say about {round_words(spoken_words(p.chosen))} words.") for p in pairs
    )


def test_an_adapter_is_asked_as_its_card_says_with_lengths_drawn_from_its_training_transcripts(train_slice, tmp_path):
    from augment.stages import prompt_card

    design = PromptDesign(scene="keywords", length=True)
    card = prompt_card(design, train_slice, ("ad",))
    lengths = {round_words(n) for n in card["lengths"]["ad"]}
    assert card["lengths"]["ad"] == sorted(spoken_words(t.verbatim) for t in train_slice if t.label.value == "AD")
    prompts = runner.record_prompts("ad", "separate", card)
    asked = [last_user(prompts(i)) for i in range(30)]
    assert all(int(a.rsplit("about ", 1)[1].split()[0]) in lengths for a in asked)
    assert len(set(asked)) == 30 and asked[4] == last_user(prompts(4))
    # an adapter without a card entry (trained before designs) is asked the one fixed prompt
    assert runner.record_prompts("ad", "separate", None)(5) == task_messages("ad", "separate")


def test_prompt_only_varies_the_final_turn_and_the_examples_turns_with_its_design(train_slice):
    config = PromptOnlyConfig(shots=2, seed=0, instruction="varied", scene="keywords", length=True)
    prompter = FewShotPrompter(train_slice, "ad", config)
    finals = [last_user(prompter(i)) for i in range(10)]
    assert len(set(finals)) == 10 and all("Say about" in f and SCENE not in f for f in finals)
    assert (
        FewShotPrompter(train_slice, "ad", config).config_hash()
        != FewShotPrompter(train_slice, "ad", PromptOnlyConfig(shots=2, seed=0)).config_hash()
    )
    users = [[m["content"] for m in prompter(i) if m["role"] == "user"][:-1] for i in range(10)]
    assert users[0][0].startswith(STYLE_HINTS["ad"]) and len({u[1] for u in users}) > 1


def test_the_spoken_register_is_the_readers():
    assert spoken("The boy, on a stool; reaches for \"cookies\"… I'm sure. I think I'll go") == (
        "the boy on a stool reaches for cookies... I'm sure. I think I'll go"
    )
    # the marks of detect.verbatim stay: a pause, and a dash between words as the correction mark
    assert spoken("The girl -- the boy (.) is on the stool") == "the girl — the boy (.) is on the stool"
    assert spoken("the well-known cookie jar?  It's   there!") == "the well-known cookie jar? it's there!"
    text = "uh the boy the boy is getting on getting the cookies and um the mother..."
    assert spoken(text) == text  # what the reader writes stays as it is


@pytest.mark.parametrize(
    "chat, written",
    [
        (
            "the boy &-uh is on the stool , and he is falling [/] falling .",
            "The boy, uh, is on the stool, and he is falling falling.",
        ),
        ("mother is drying dishes +...", "Mother is drying dishes…"),
        ("I think he's &-um getting cookies ?", "I think he's, um, getting “cookies”?"),
        (
            "<the girl> [//] the boy is on the stool and (.) falling .",
            "The girl — the boy is on the stool and (.) falling.",
        ),
    ],
)
def test_spoken_prose_reads_as_the_reader_renders_the_same_speech(chat, written):
    from detect.chat import parse_main_tier, verbatim_text

    assert spoken(written) == verbatim_text(parse_main_tier(chat))


def test_filler_tokens_are_single_tokens_of_the_shipped_tokenizer_that_decode_to_a_filler():
    from transformers import AutoTokenizer

    from augment.base_model import resolve_base_model
    from augment.runner import FILLER_WORDS, filler_tokens

    tokens = filler_tokens(None)
    assert tokens
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(None))
    decoded = {tokenizer.decode([t]) for t in tokens}
    assert {d.strip().lower() for d in decoded} <= set(FILLER_WORDS) and all(d.startswith(" ") for d in decoded)
    assert " um" in decoded  # mid-sentence, as generators write it
    # SmolLM2 writes " uh" as " u" + "h": biasing " u" would raise every word that begins with it, so it stays out
    assert len(tokenizer.encode(" uh", add_special_tokens=False)) == 2
    assert tokenizer.encode(" uh", add_special_tokens=False)[0] not in tokens
    from augment.generation_config import SamplingConfig

    assert SamplingConfig(filler_bias=3.0, filler_tokens=tokens).vllm_extras(0)["logit_bias"] == dict.fromkeys(
        tokens, 3.0
    )
    assert "logit_bias" not in SamplingConfig(filler_bias=3.0).vllm_extras(0)  # no ids yet: nothing is biased
