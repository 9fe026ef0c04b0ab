"""The learning-signal test: a few SFT steps on a tiny slice make the generator's descriptions
pass the on-topic filter more often than the bare base model's.

What it can and cannot show, measured on SmolLM2-135M-Instruct (24 samples a model, the
project's sampler: temperature 0.9, min-p 0.05; float32; one run each, on the loaded 2-core box):

* At the project's full budget (160 new tokens) the base model is already on topic: the prompt
  describes the scene (``augment.prompts.SCENE``) and it repeats it back, so 83% and 92% of its
  HC-prompt texts (sampling seeds 0, 1) pass ``on_topic``, 83% and 75% length + garbage +
  on-topic. A few SFT steps do not beat that: 4-6 steps brought loops along with the speaker's
  voice (62-71% on topic at 96-160 tokens).
* What the base model gets wrong is how it starts: "The picture is a classic example of a
  mystery scene in a story of light and shadow...", "What a delightful scene. Here's a
  breakdown...": an assistant's commentary, not a speaker naming what they see. Within the
  first ~30 words only 33-50% of its texts name the three information units ``on_topic``
  asks for. The real transcripts name them at once (HC: 94% within 32 tokens), and that is
  what a few steps teach: the tuned model opens with "the boy is taking cookies from the
  jar..." After the 8 steps below, 96-100% of its 32-token texts passed ``on_topic`` and
  length + garbage + on-topic (training seeds 0, 1, 2; sampling seeds 0, 1), against 46% and
  50% of the base model's (sampling seeds 0, 1).

So the test samples short descriptions (:data:`MAX_NEW_TOKENS`), the same prompt, seeds and
sampler for both models, through the project's own code: :func:`augment.stages.run_sft`,
:func:`augment.adapters.load_adapter` (merged, as training samples it) and
:func:`augment.sampling.sample_descriptions`; and judges them with
:func:`augment.filters.apply_filters`.
"""

from __future__ import annotations

import pytest

from augment.adapters import load_adapter
from augment.base_model import load_base_model
from augment.filters import apply_filters, select
from augment.sampling import SampleConfig, sample_descriptions
from augment.stages import CookieSFTConfig, default_lora_config, run_sft
from augment.synthetic import GeneratorInfo, SyntheticDescription
from detect.records import Label

STYLE = "hc"  # healthy speakers name the scene's units from the first words; AD openings are vaguer
MAX_LENGTH = 192  # the prompt (with the scene) is ~165 tokens: each example teaches its first ~25 tokens
# 8 steps of 2 at 2e-3: the loss falls from ~4.0 to ~2.2 and the openings turn into description.
# 6 steps were not enough (62% on topic at 24 tokens), so this is the cheapest setting with room.
STEPS, BATCH, LEARNING_RATE = 8, 2, 2e-3
SAMPLES = 24  # at 16 the base model's rate spread over 31-56% (three seeds): too close to the margin
MAX_NEW_TOKENS = 32  # ~25 words: past the filter's 15-word floor, before the base model gets to the scene
USABLE = ("length", "garbage", "on_topic")


@pytest.fixture(autouse=True)
def _threads():
    import torch

    # One thread: on a shared, oversubscribed CPU, OpenMP barriers between two threads
    # that are rarely scheduled together cost far more than the parallelism gains.
    torch.set_num_threads(1)


def _judge(texts: list[str], kind: str, training) -> list[SyntheticDescription]:
    records = [
        SyntheticDescription(id=f"{kind}-{i}", style=STYLE, text=text, generator=GeneratorInfo(kind=kind))
        for i, text in enumerate(texts)
    ]
    return apply_filters(records, training=training)


def _rate(records: list[SyntheticDescription], require: tuple[str, ...]) -> float:
    return len(select(records, require)) / len(records)


@pytest.mark.slow
def test_a_few_sft_steps_make_descriptions_on_topic_more_often_than_the_base_model(base_model_dir, tmp_path):
    from detect.readers import load_corpus

    slice_ = list(load_corpus().by_split("train").by_label(Label.HC))[:6]
    args = CookieSFTConfig(
        max_steps=STEPS,
        per_device_train_batch_size=BATCH,
        learning_rate=LEARNING_RATE,
        max_length=MAX_LENGTH,
        save_strategy="no",
        min_transcripts=4,
        seed=0,
    )
    sft = run_sft(
        base_model_dir,
        slice_,
        (STYLE,),
        "separate",
        args,
        default_lora_config(r=8, alpha=16),
        tmp_path,
        identity={"name": "smollm2", "digest": "x"},
        data_digest="learning-signal",
    )
    assert sft.metrics["final_loss"] < sft.metrics["first_loss"], sft.metrics

    # One config for both models: same prompt, seeds and sampler, so only the weights differ.
    sampling = SampleConfig(n=SAMPLES, max_new_tokens=MAX_NEW_TOKENS, batch_size=SAMPLES, seed=0, base=False)
    model, tokenizer = load_base_model(base_model_dir)
    base_texts = sample_descriptions(model, tokenizer, (STYLE,), "separate", sampling)[STYLE]
    model, tokenizer = load_adapter(base_model_dir, sft.adapter, merge=True)
    tuned_texts = sample_descriptions(model, tokenizer, (STYLE,), "separate", sampling)[STYLE]
    del model

    base = _judge(base_texts, "prompt-only", slice_)
    tuned = _judge(tuned_texts, "merged", slice_)
    rates = {
        name: (_rate(base, require), _rate(tuned, require))
        for name, require in (("on_topic", ("on_topic",)), ("usable", USABLE))
    }
    said = "; ".join(f"{name}: base {b:.0%}, tuned {t:.0%}" for name, (b, t) in rates.items())
    print(said)  # the measured rates, for -rP / -s
    failures = [
        f"{r.id}: {v.detail}" for r in tuned for name, v in r.verdicts.items() if name in USABLE and not v.passed
    ]

    # Measured: base 46-50%, tuned 96-100%. Half that gap still needs the base model 2.5 standard
    # errors above its rate, should another CPU's rounding pick other samples.
    b, t = rates["on_topic"]
    assert t >= b + 0.25, f"no learning signal in the on-topic filter ({said}); tuned failures: {failures}"
    assert t >= 0.75, f"the tuned generator is too often off topic ({said}); tuned failures: {failures}"
    b, t = rates["usable"]
    assert t >= b + 0.25, f"no learning signal in length + garbage + on-topic ({said}); tuned failures: {failures}"
