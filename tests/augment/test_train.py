"""SFT then DPO on SmolLM2 with a small slice: a real learning signal, adapters that reload, resume, bad input."""

from __future__ import annotations

import dataclasses
import json

import pytest

from augment.adapters import ADAPTER_META, NON_WEIGHT_FIELDS, load_adapter
from augment.base_model import BaseModelError
from augment.pair_config import PairConfig
from augment.sampling import SampleConfig
from augment.stages import (
    CookieDPOConfig,
    CookieSFTConfig,
    GeneratorError,
    default_lora_config,
    dpo_hash,
    run_sft,
    sft_hash,
)
from augment.train import GeneratorConfig, train_generators
from detect.records import Label

# Tiny lengths and steps: each slow test must stay within a few minutes on 2 shared cores.
MAX_LENGTH = 192  # the prompt (with the scene) is ~165 tokens, so ~25 tokens of each description are learned


@pytest.fixture(scope="module")
def slice_():
    from detect.readers import load_corpus

    train = load_corpus().by_split("train")
    return [*list(train.by_label(Label.AD))[:6], *list(train.by_label(Label.HC))[:6]]


@pytest.fixture(autouse=True)
def _threads():
    import torch

    # One thread: on a shared, oversubscribed CPU, OpenMP barriers between two threads
    # that are rarely scheduled together cost far more than the parallelism gains.
    torch.set_num_threads(1)


def tiny_config(tmp_path, **overrides) -> GeneratorConfig:
    values = dict(
        styles=("ad",),
        sft=CookieSFTConfig(
            max_steps=3,
            max_length=MAX_LENGTH,
            per_device_train_batch_size=2,
            learning_rate=1e-3,
            save_steps=1,
            min_transcripts=4,
            seed=0,
        ),
        dpo=CookieDPOConfig(
            max_steps=3,
            max_length=MAX_LENGTH,
            per_device_train_batch_size=2,
            learning_rate=1e-3,
            beta=0.1,
            min_pairs=4,
            score_pairs=4,
            save_steps=3,
            seed=0,
        ),
        lora=default_lora_config(r=8, alpha=16),
        pairs=PairConfig(
            strategies=("real", "degraded", "generated"),
            rejected_per_chosen=1,
            max_pairs_per_strategy=4,
            min_transcripts=4,
        ),
        sampling=SampleConfig(n=2, max_new_tokens=8, base=False),
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}",
        experiment="test-generators",
    )
    values.update(overrides)
    return GeneratorConfig(**values)


@pytest.mark.slow
def test_sft_then_dpo_learns_and_adapters_reload(slice_, tmp_path, base_model_dir):
    import torch
    from mlflow.tracking import MlflowClient

    import mlflow

    report = train_generators(slice_, tmp_path / "run", tiny_config(tmp_path))
    unit = report.units["ad"]

    # A real DPO learning signal on the training pairs: at step 0 the policy is its own
    # reference (all rewards 0); after a few steps chosen beats rejected.
    m = unit.dpo.metrics
    assert m["step0_rewards/margins"] == pytest.approx(0.0, abs=1e-4)
    assert m["final_rewards/margins"] > m["step0_rewards/margins"] + 0.05
    assert m["final_rewards/accuracies"] > m["step0_rewards/accuracies"]
    assert m["final_rewards/accuracies"] >= 0.5
    assert unit.sft.metrics["steps"] == 3 and unit.dpo.metrics["steps"] == 3

    # Adapters: safetensors + card + metadata; only the trained adapter is saved (no "ref" copy).
    for stage in (unit.sft, unit.dpo):
        files = {p.name for p in stage.adapter.iterdir()}
        assert {"adapter_model.safetensors", "adapter_config.json", "README.md", ADAPTER_META} <= files
        assert not (stage.adapter / "ref").exists()
        meta = json.loads((stage.adapter / ADAPTER_META).read_text())
        assert meta["config_hash"] == stage.config_hash and meta["data_digest"] and meta["base_model"]["digest"]
        assert "base_model: SmolLM2-135M-Instruct" in (stage.adapter / "README.md").read_text()

    # They reload on the base model and change its output (and DPO moved away from SFT).
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    ids = tokenizer("the boy is on the stool and", return_tensors="pt")
    base = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
    sft_model, _ = load_adapter(base_model_dir, unit.sft.adapter)
    dpo_model, _ = load_adapter(base_model_dir, unit.dpo.adapter)
    with torch.no_grad():
        logits = [m_(**ids).logits[0, -1] for m_ in (base, sft_model, dpo_model)]
    assert not torch.allclose(logits[0], logits[1], atol=1e-3)
    assert not torch.allclose(logits[1], logits[2], atol=1e-3)

    # The pairs and the sample-vs-real marker comparison.
    pairs = [json.loads(line) for line in unit.pairs_path.read_text().splitlines()]
    assert len(pairs) >= 4 and {p["style"] for p in pairs} == {"ad"}
    assert list(report.comparison.index) == ["real AD", "real HC", "sft:ad", "dpo:ad"]
    assert report.comparison.loc["real AD", "style_score"] > 0 > report.comparison.loc["real HC", "style_score"]
    assert report.plot_path.is_file() and report.comparison_path.is_file()

    # MLflow: params, curves for both stages, the adapters as artifacts.
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}")
    parent = client.get_run(report.run_id)
    assert parent.data.params["mode"] == "separate"
    child = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{report.run_id}'")[0]
    for key in (
        "sft/loss",
        "dpo/loss",
        "dpo/rewards/chosen",
        "dpo/rewards/rejected",
        "dpo/rewards/accuracies",
        "dpo/rewards/margins",
    ):
        assert len(client.get_metric_history(child.info.run_id, key)) >= 2, key
    artifacts = {a.path for a in client.list_artifacts(child.info.run_id, "adapters/ad")}
    assert {"adapters/ad/sft", "adapters/ad/dpo"} <= artifacts
    mlflow.set_tracking_uri(None)

    # A rerun with the same config and data reuses both adapters.
    again = train_generators(slice_, tmp_path / "run", tiny_config(tmp_path, track=False))
    assert again.units["ad"].sft.cached and again.units["ad"].dpo.cached
    # ... and the samples taken from each (kept beside the adapters, keyed by what made them)
    assert again.units["ad"].samples == report.units["ad"].samples
    assert (tmp_path / "run" / "ad" / "dpo" / "samples.key").is_file()


@pytest.mark.slow
def test_an_adapter_trained_on_a_varied_prompt_is_asked_as_it_was_trained(slice_, tmp_path):
    from augment.adapters import read_meta
    from augment.prompts import round_words, spoken_words
    from augment.runner import adapter_job

    sft = CookieSFTConfig(
        max_steps=1,
        max_length=MAX_LENGTH,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        min_transcripts=4,
        seed=0,
        prompt_instruction="varied",
        prompt_scene="keywords",
        prompt_length=True,
    )
    dpo = CookieDPOConfig(
        max_steps=1, max_length=MAX_LENGTH, per_device_train_batch_size=2, min_pairs=2, score_pairs=0, seed=0
    )
    report = train_generators(slice_, tmp_path / "run", tiny_config(tmp_path, sft=sft, dpo=dpo, track=False))
    unit = report.units["ad"]
    lengths = sorted(spoken_words(t.verbatim) for t in slice_ if t.label == Label.AD)  # the marks are no words
    for stage in (unit.sft, unit.dpo):  # DPO's card carries what SFT was taught
        assert read_meta(stage.adapter)["prompt"] == {
            "design": {"instruction": "varied", "scene": "keywords", "length": True},
            "lengths": {"ad": lengths},
        }
    pairs = [json.loads(line) for line in unit.pairs_path.read_text().splitlines()]
    assert all("Say about" in p["prompt"][-1]["content"] for p in pairs)
    job = adapter_job(tmp_path / "a.jsonl", 10, "ad", "g", unit.dpo.adapter, mode="separate")
    asked = [job.prompts(i)[-1]["content"] for i in range(10)]
    assert len(set(asked)) == 10
    assert {int(a.rsplit("about ", 1)[1].split()[0]) for a in asked} <= {round_words(n) for n in lengths}


class _Crash(RuntimeError):
    pass


@pytest.mark.slow
def test_interrupted_sft_resumes_from_its_last_checkpoint(slice_, tmp_path, base_model_dir):
    from transformers import TrainerCallback

    class CrashAfterSecondCheckpoint(TrainerCallback):  # fault injection: the process "dies" mid-run
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == 2:
                raise _Crash("interrupted")

    config = tiny_config(tmp_path)
    kwargs = dict(identity={"name": "smollm2", "digest": "x"}, data_digest="d")
    with pytest.raises(_Crash):
        run_sft(
            base_model_dir,
            slice_,
            ("ad",),
            "separate",
            config.sft,
            config.lora,
            tmp_path / "ad",
            **kwargs,
            callbacks=[CrashAfterSecondCheckpoint()],
        )
    assert (tmp_path / "ad" / "sft" / "checkpoints" / "checkpoint-2").is_dir()
    assert not (tmp_path / "ad" / "sft" / "adapter").exists()

    result = run_sft(base_model_dir, slice_, ("ad",), "separate", config.sft, config.lora, tmp_path / "ad", **kwargs)
    assert result.resumed_from and result.resumed_from.endswith("checkpoint-2")
    assert result.metrics["steps"] == 3
    assert (result.adapter / "adapter_model.safetensors").is_file()


def test_too_few_transcripts_of_a_style_is_a_one_line_error(slice_, tmp_path):
    few_ad = [t for t in slice_ if t.label == Label.HC] + [t for t in slice_ if t.label == Label.AD][:2]
    config = tiny_config(tmp_path, styles=("ad", "hc"), track=False)
    with pytest.raises(GeneratorError, match="only 2 AD transcripts") as info:
        train_generators(few_ad, tmp_path / "run", config)
    assert "\n" not in str(info.value)


def test_a_base_model_that_is_not_a_causal_lm_is_refused(slice_, tmp_path):
    from tests.augment.test_base_model import minilm_dir

    with pytest.raises(BaseModelError, match="not a causal language model"):
        train_generators(slice_, tmp_path / "run", tiny_config(tmp_path, base_model=str(minilm_dir()), track=False))


# -- the adapter cache key: whole configs minus what cannot change the weights ----------------------
IDENTITY = {"name": "smollm2", "digest": "x"}


def _dpo_key(**changes) -> str:
    return dpo_hash(CookieDPOConfig(**{"output_dir": "a", **changes}), sft_hash="s", pairs_digest="p")


def _sft_key(lora=None, **changes) -> str:
    return sft_hash(
        CookieSFTConfig(**{"output_dir": "a", **changes}),
        lora or default_lora_config(),
        mode="separate",
        styles=("ad",),
        identity=IDENTITY,
        data_digest="d",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"loss_type": ["ipo"]},
        {"f_divergence_type": "js_divergence"},
        {"beta": 0.3},
        {"label_smoothing": 0.1},
        {"use_weighting": True},
        {"learning_rate": 1e-4},
        {"seed": 1},
        {"max_length": 256},
        {"score_pairs": 0},
    ],
)
def test_a_field_that_can_change_dpo_weights_invalidates_the_cached_adapter(change):
    assert _dpo_key(**change) != _dpo_key()


@pytest.mark.parametrize(
    "change",
    [
        {"output_dir": "elsewhere"},
        {"logging_steps": 5},
        {"report_to": "mlflow"},
        {"save_steps": 3},
        {"save_total_limit": 1},
        {"disable_tqdm": True},
        {"min_pairs": 2},
        {"run_name": "again"},
    ],
)
def test_logging_output_and_checkpoint_fields_keep_the_cached_adapter(change):
    assert _dpo_key(**change) == _dpo_key()


def test_sft_key_covers_training_and_lora_fields_but_not_where_peft_loads_from():
    assert _sft_key(neftune_noise_alpha=5.0) != _sft_key()  # a field no allow-list would have named
    assert _sft_key(lora=default_lora_config(r=8)) != _sft_key()
    lora = default_lora_config()
    lora.base_model_name_or_path = "/somewhere/else"  # PEFT fills this in on load
    assert _sft_key(lora=lora) == _sft_key()
    assert _sft_key(logging_steps=7, output_dir="b") == _sft_key()
    for design in ({"prompt_instruction": "varied"}, {"prompt_scene": "keywords"}, {"prompt_length": True}):
        assert _sft_key(**design) != _sft_key()  # what SFT is asked is what it learns


def test_every_deny_listed_field_is_a_real_training_option():
    names = {f.name for cls in (CookieSFTConfig, CookieDPOConfig) for f in dataclasses.fields(cls)}
    assert NON_WEIGHT_FIELDS <= names, sorted(NON_WEIGHT_FIELDS - names)  # a typo would hash a field it meant to skip


def test_configs_reject_bad_values_and_split_units_by_mode():
    with pytest.raises(ValueError, match="min_pairs"):
        CookieDPOConfig(min_pairs=0)
    with pytest.raises(ValueError, match="prompt_instruction / prompt_scene: scene"):
        CookieSFTConfig(prompt_scene="pictures")
    with pytest.raises(ValueError, match="styles"):
        GeneratorConfig(styles=("xx",))
    with pytest.raises(ValueError, match="temperature"):
        SampleConfig(temperature=0)
    assert GeneratorConfig(mode="conditional").units() == {"cond": ("ad", "hc")}
    assert GeneratorConfig(styles=("hc",)).units() == {"hc": ("hc",)}
