"""SFT then DPO of style adapters (LoRA) on the base model, with TRL and PEFT.

For each *unit* (an adapter: ``ad`` and ``hc`` in ``separate`` mode, one ``cond`` adapter
in ``conditional`` mode):

1. SFT: ``SFTTrainer`` on the style's real transcripts (verbatim), a fresh LoRA adapter.
2. Samples from the SFT adapter (for the ``generated`` pairs and the marker comparison).
3. Preference pairs from the same transcripts (:mod:`augment.pairs`).
4. DPO: ``DPOTrainer`` continues the SFT adapter. The reference is the SFT policy without
   a second copy of the model: TRL copies the SFT adapter into a frozen ``ref`` adapter on
   the same base weights (a few MB), or, with ``precompute_ref_log_probs``, scores all pairs
   with it once before training.
5. Samples from the DPO adapter; their markers are compared with real AD and HC (a table
   and a plot), next to the SFT samples and the bare base model's.

Outputs under ``out_dir``::

    <unit>/sft/adapter/   adapter_model.safetensors, adapter_config.json, README.md (card), cookiebench-adapter.json
    <unit>/dpo/adapter/   the same, after DPO (load it on the base model: it holds SFT+DPO)
    <unit>/pairs.jsonl    the DPO pairs, and pairs.summary.json
    <unit>/samples.jsonl  sampled descriptions (stage, style, text)
    base_samples.jsonl    the bare base model's samples (the reference row)
    base_samples.key      what they were sampled with
    markers.csv, markers.png, report.json

Adapters are cached by a hash of (config, data): a rerun with the same inputs skips a
finished stage; an interrupted stage resumes from its last checkpoint.

This module runs the steps in order and tracks them; each step lives in its own module:
:mod:`augment.stages` (the TRL configs and the SFT/DPO stages), :mod:`augment.adapters`
(adapter metadata, cache key, card), :mod:`augment.sampling` (HF sampling),
:mod:`augment.pairs` (preference pairs) and :mod:`augment.comparison` (markers table and plot).

Run::

    cookiebench augment train --style both --mode separate --out runs/generators
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as config_dataclass

from augment.adapters import base_model_identity, load_adapter, lora_fields, training_fields
from augment.base_model import load_base_model, resolve_base_model
from augment.comparison import compare_markers, plot_comparison
from augment.pair_config import PairConfig
from augment.pair_files import read_samples, write_pairs
from augment.pairs import PairSet, build_pairs
from augment.prompts import PROMPT_VERSION, STYLE_LABEL, STYLES, Mode, Style, adapter_unit
from augment.sampling import SampleConfig, sample_descriptions, write_samples
from augment.stages import (
    CookieDPOConfig,
    CookieSFTConfig,
    GeneratorError,
    StageResult,
    default_lora_config,
    run_dpo,
    run_sft,
)
from detect import tracking
from detect.hashing import digest
from detect.markers import real_verbatim
from detect.records import Corpus, Transcript

logger = logging.getLogger(__name__)


@config_dataclass(config=ConfigDict(extra="forbid"))
class GeneratorConfig:
    """Everything one training invocation needs, one typed config per component."""

    styles: tuple[Style, ...] = Field(default=STYLES, min_length=1, description="The styles to train generators for.")
    mode: Mode = Field(
        default="separate",
        description="separate: one adapter per style; conditional: one adapter, the style in the prompt.",
    )
    base_model: str | None = Field(default=None, description="A local HF causal-LM folder; None: the prepared SmolLM2.")
    sft: CookieSFTConfig = Field(default_factory=CookieSFTConfig, description="The SFT stage.")
    dpo: CookieDPOConfig | None = Field(default_factory=CookieDPOConfig, description="The DPO stage; None: SFT only.")
    lora: Any = Field(default_factory=default_lora_config, description="A peft.LoraConfig.")
    pairs: PairConfig = Field(default_factory=PairConfig, description="DPO's preference pairs.")
    sampling: SampleConfig = Field(default_factory=SampleConfig, description="Samples after each stage.")
    tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; None: detect.tracking's default store."
    )
    experiment: str = Field(default="cookiebench-generators", description="MLflow experiment.")
    track: bool = Field(default=True, description="Log to MLflow.")

    def units(self) -> dict[str, tuple[Style, ...]]:
        """Adapter name -> the styles it is trained on."""
        unit_of = {style: adapter_unit(style, self.mode) for style in self.styles}
        return {unit: tuple(s for s in self.styles if unit_of[s] == unit) for unit in dict.fromkeys(unit_of.values())}


# -- results ----------------------------------------------------------------------------------------


@dataclass
class UnitResult:
    name: str
    styles: tuple[Style, ...]
    sft: StageResult
    dpo: StageResult | None
    pairs_path: Path | None
    samples: dict[str, dict[str, list[str]]]  # stage -> style -> texts


@dataclass
class TrainReport:
    out_dir: Path
    units: dict[str, UnitResult]
    comparison: Any  # pandas DataFrame: rows (real AD, real HC, base, sft:ad, dpo:ad, ...), marker columns
    comparison_path: Path | None
    plot_path: Path | None
    run_id: str | None


# -- data -------------------------------------------------------------------------------------------


def _check_transcripts(transcripts: Sequence[Transcript], styles: Sequence[Style], minimum: int) -> None:
    for style in styles:
        n = sum(1 for t in transcripts if t.label == STYLE_LABEL[style] and real_verbatim(t).strip())
        if n < minimum:
            raise GeneratorError(
                f"only {n} {STYLE_LABEL[style].value} transcripts with text for the {style.upper()}-style generator; "
                f"SFT needs at least {minimum} (give more transcripts, or lower --min-transcripts)"
            )


# -- the pipeline -----------------------------------------------------------------------------------


def _cached_samples(
    path: Path, key: list[Any], label: str, make: Callable[[], dict[str, list[str]]]
) -> dict[str, list[str]]:
    """Samples made by ``make``, reused while ``key`` (the weights, prompts and sampling they came
    from) is the same: a rerun whose adapters are all cached then loads no model at all."""
    key_path, key_digest = path.with_suffix(".key"), digest(key, 16)
    if path.is_file() and key_path.is_file() and key_path.read_text().strip() == key_digest:
        return read_samples(path, stage=label)
    samples = make()
    write_samples(path, {label: samples})
    key_path.write_text(key_digest + "\n")
    return samples


def _base_samples(
    base: Path,
    identity: dict[str, str],
    styles: Sequence[Style],
    config: GeneratorConfig,
    out_dir: Path,
    notify: Callable[[str], None],
) -> dict[str, list[str]]:
    def make() -> dict[str, list[str]]:
        notify("sampling the base model")
        model, tokenizer = load_base_model(base)
        return sample_descriptions(model, tokenizer, styles, config.mode, config.sampling)

    key = [identity, list(styles), config.mode, PROMPT_VERSION, asdict(config.sampling)]
    return _cached_samples(out_dir / "base_samples.jsonl", key, "base", make)


def train_generators(
    transcripts: Sequence[Transcript],
    out_dir: str | Path,
    config: GeneratorConfig | None = None,
    *,
    on_stage: Callable[[str], None] | None = None,
    extractor: Any = None,
) -> TrainReport:
    """SFT then DPO of each style adapter on ``transcripts`` (one fold's training speakers).

    ``on_stage`` is called with a short label as each stage starts (the CLI's progress).
    """
    config = config or GeneratorConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    transcripts = [t for t in transcripts if t.label is not None]
    _check_transcripts(transcripts, config.styles, config.sft.min_transcripts)
    base = resolve_base_model(config.base_model)
    identity = base_model_identity(base)
    corpus = Corpus(transcripts)
    data_digest = corpus.digest()
    if extractor is None:
        from detect.markers import MarkerExtractor

        extractor = MarkerExtractor()
    notify = on_stage or (lambda label: None)
    params = {
        "mode": config.mode,
        "styles": ",".join(config.styles),
        "base_model": identity["name"],
        "base_digest": identity["digest"],
        "data_digest": data_digest,
        "transcripts": len(transcripts),
        "prompt_version": PROMPT_VERSION,
        "lora": lora_fields(config.lora),
        "sft": training_fields(config.sft),
        "dpo": training_fields(config.dpo) if config.dpo else "off",
        "pairs": asdict(config.pairs),
        "sampling": asdict(config.sampling),
    }
    units: dict[str, UnitResult] = {}
    samples_for_table: dict[str, list[str]] = {}
    # Untracked (config.track off, e.g. inside the benchmark): no run is opened and nothing is logged.
    parent = tracking.experiment_run(
        config.experiment, f"generators-{config.mode}", uri=config.tracking_uri, params=params
    )
    with parent if config.track else contextlib.nullcontext() as run:
        if config.sampling.base:
            base_styles = config.styles if config.mode == "conditional" else config.styles[:1]
            base_samples = _base_samples(base, identity, base_styles, config, out_dir, notify)
            for style, texts in base_samples.items():
                samples_for_table[f"base:{style}" if config.mode == "conditional" else "base"] = texts
        for unit, styles in config.units().items():
            unit_dir = out_dir / unit
            child = tracking.child_run(unit, params={"styles": ",".join(styles)})
            with child if config.track else contextlib.nullcontext():
                result = _train_unit(
                    base,
                    transcripts,
                    unit,
                    styles,
                    unit_dir,
                    config,
                    identity=identity,
                    data_digest=data_digest,
                    extractor=extractor,
                    notify=notify,
                )
            units[unit] = result
            for stage, by_style in result.samples.items():
                for style, texts in by_style.items():
                    samples_for_table[f"{stage}:{style}"] = texts

        notify("comparing markers")
        table, _ = compare_markers(transcripts, samples_for_table, extractor)
        comparison_path = out_dir / "markers.csv"
        table.to_csv(comparison_path)
        plot_path = plot_comparison(table, out_dir / "markers.png")
        report = {
            "units": {
                name: {
                    "sft": u.sft.metrics,
                    "dpo": u.dpo.metrics if u.dpo else None,
                    "sft_adapter": str(u.sft.adapter),
                    "dpo_adapter": str(u.dpo.adapter) if u.dpo else None,
                }
                for name, u in units.items()
            },
            "comparison": json.loads(table.to_json(orient="index")),
            "data_digest": data_digest,
            "base_model": identity,
        }
        (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        if config.track:
            tracking.log_frame(table.reset_index(), "markers/markers.json")
            for path in (comparison_path, plot_path, out_dir / "report.json"):
                tracking.log_path(path, "markers")
            tracking.log_metrics(
                {f"style_score/{g.replace(':', '_').replace(' ', '_')}": v for g, v in table["style_score"].items()}
            )
    return TrainReport(
        out_dir=out_dir,
        units=units,
        comparison=table,
        comparison_path=comparison_path,
        plot_path=plot_path,
        run_id=run.info.run_id if run is not None else None,
    )


def _train_unit(
    base: Path,
    transcripts: Sequence[Transcript],
    unit: str,
    styles: tuple[Style, ...],
    unit_dir: Path,
    config: GeneratorConfig,
    *,
    identity: dict[str, str],
    data_digest: str,
    extractor: Any,
    notify: Callable[[str], None],
) -> UnitResult:
    unit_dir.mkdir(parents=True, exist_ok=True)
    notify(f"{unit}: SFT")
    sft = run_sft(
        base,
        transcripts,
        styles,
        config.mode,
        config.sft,
        config.lora,
        unit_dir,
        identity=identity,
        data_digest=data_digest,
        callbacks=_curves(config, "sft"),
    )
    if config.track:
        tracking.log_path(sft.adapter, f"adapters/{unit}/sft")
    samples: dict[str, dict[str, list[str]]] = {}

    notify(f"{unit}: sampling after SFT")
    samples["sft"] = _sample(base, sft, "sft", styles, config)

    dpo = None
    pairs_path = None
    if config.dpo is not None:
        notify(f"{unit}: preference pairs")
        pair_config = PairConfig(**{**asdict(config.pairs), "styles": styles, "mode": config.mode})
        pair_set: PairSet = build_pairs(
            transcripts, pair_config, samples=samples["sft"], extractor=extractor, design=config.sft.prompt_design()
        )
        pairs_path = write_pairs(unit_dir / "pairs.jsonl", pair_set.pairs, pair_set.summary)
        if config.track:
            tracking.log_path(pairs_path, f"pairs/{unit}")
            tracking.log_path(unit_dir / "pairs.summary.json", f"pairs/{unit}")
            tracking.log_metrics(
                {
                    "pairs/total": len(pair_set.pairs),
                    "pairs/dropped_margin": sum(pair_set.summary.dropped_margin.values()),
                    "pairs/dropped_duplicates": pair_set.summary.dropped_duplicates,
                }
            )
        notify(f"{unit}: DPO")
        dpo = run_dpo(
            base,
            sft,
            pair_set.pairs,
            styles,
            config.mode,
            config.dpo,
            unit_dir,
            identity=identity,
            data_digest=data_digest,
            callbacks=_curves(config, "dpo"),
        )
        if config.track:
            tracking.log_path(dpo.adapter, f"adapters/{unit}/dpo")
        notify(f"{unit}: sampling after DPO")
        samples["dpo"] = _sample(base, dpo, "dpo", styles, config)
    if config.track:
        tracking.log_metrics({f"sft/final/{k}": v for k, v in sft.metrics.items()})
        if dpo is not None:
            tracking.log_metrics(
                {f"dpo/final/{k}".replace("/rewards/", "/rewards_"): v for k, v in dpo.metrics.items()}
            )
    write_samples(unit_dir / "samples.jsonl", samples)
    return UnitResult(name=unit, styles=styles, sft=sft, dpo=dpo, pairs_path=pairs_path, samples=samples)


def _curves(config: GeneratorConfig, stage: str) -> list[Any]:
    """Trainer callbacks: the stage's curves into MLflow when tracked."""
    return [tracking.trainer_metrics(stage)] if config.track else []


def _sample(
    base: Path, stage: StageResult, name: str, styles: tuple[Style, ...], config: GeneratorConfig
) -> dict[str, list[str]]:
    """The stage's samples (kept beside its adapter, keyed by the adapter's config hash)."""

    def make() -> dict[str, list[str]]:
        model, tokenizer = load_adapter(base, stage.adapter, merge=True)
        return sample_descriptions(model, tokenizer, styles, config.mode, config.sampling)

    key = [stage.config_hash, list(styles), config.mode, PROMPT_VERSION, asdict(config.sampling)]
    return _cached_samples(stage.adapter.parent / "samples.jsonl", key, name, make)
