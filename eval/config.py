"""Benchmark configuration: YAML validated on load, one-line errors naming the key.

``cookiebench benchmark --config demo`` takes a shipped profile (``eval/profiles/*.yaml``);
any other value is a path to a YAML file of the same shape.
"""

from __future__ import annotations

import difflib
from dataclasses import fields, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from detect.errors import ConfigError, one_line
from detect.hashing import digest
from detect.readers import ReadOptions

Condition = Literal["none", "classic", "prompt-only", "sft", "dpo", "real", "flipped"]
CONDITIONS: tuple[str, ...] = ("none", "classic", "prompt-only", "sft", "dpo")
GENERATED: tuple[str, ...] = ("prompt-only", "sft", "dpo")
# The controls: `real` adds held-back real transcripts (what more real data is worth: it must
# help); `flipped` adds the same transcripts with the wrong label (it must hurt).
REAL, FLIPPED = "real", "flipped"
CONTROLS: tuple[str, ...] = (REAL, FLIPPED)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProtocolConfig(_Strict):
    """How speakers are split into training and test; ``describe()`` says it in words."""

    split: Literal["cv", "adress"] = Field("cv", description="Speaker-grouped CV, or the fixed ADReSS train/test split.")
    folds: int = Field(5, ge=2, description="K in speaker-grouped stratified K-fold.")
    repeats: int = Field(3, ge=1, description="CV repeated over this many seeds (with split=adress: classifier seeds).")
    seed: int = Field(0, description="First seed; repeats use seed, seed+1, ...")
    reserve: float = Field(
        0.0, ge=0, lt=1, description="Share of each fold's training speakers held back (stratified, seeded by `seed`) "
                                     "as the reserve the `real` and `flipped` controls draw from; every condition, "
                                     "generators included, trains on the rest only. 0: no reserve.")

    def describe(self) -> str:
        split = f"{self.folds}-fold CV" if self.split == "cv" else "the fixed ADReSS split"
        held = f", {self.reserve:.0%} of training speakers held back" if self.reserve else ""
        return f"{split} x {self.repeats} seed{'s' * (self.repeats != 1)}{held}"


class GeneratorConfig(_Strict):
    base_model: Path | None = Field(None, description="Local HF causal-LM folder; default: SmolLM2-135M-Instruct.")
    mode: Literal["separate", "conditional"] = "separate"
    pairs: dict[str, Any] = Field(default_factory=dict, description="augment.pairs options.")
    sft: dict[str, Any] = Field(default_factory=dict, description="augment.stages.CookieSFTConfig options.")
    dpo: dict[str, Any] = Field(default_factory=dict, description="augment.stages.CookieDPOConfig options.")
    sampling: dict[str, Any] = Field(default_factory=dict, description="augment.sampling.SampleConfig: samples after each stage.")


class GenerationConfig(_Strict):
    temperature: float = Field(0.9, ge=0)
    min_p: float = Field(0.05, ge=0, lt=1, description="Min-p truncation (see augment.generate.SamplingConfig).")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling mass (1: off).")
    max_tokens: int = Field(160, ge=8)
    min_tokens: int = Field(0, ge=0, description="Fewest tokens per description (see augment.generate.SamplingConfig).")
    frequency_penalty: float = Field(0.3, ge=-2, le=2, description="See augment.generate.SamplingConfig.")
    concurrency: int = Field(8, ge=1)
    enforce_eager: bool = Field(True, description="vLLM without graph compilation: fast start, lower throughput.")
    endpoint: str | None = Field(None, description="Use a running vLLM server instead of starting one.")
    backend: Literal["auto", "in-process", "server"] = Field(
        "auto", description="Without an endpoint, run vLLM in-process (vllm.LLM in a worker process, no HTTP) or as an "
                            "OpenAI-compatible server (auto: in-process on the CPU build, a server elsewhere; see "
                            "augment.runner).")
    adapters: Literal["auto", "lora", "merged"] = Field(
        "auto", description="Run the trained generators as LoRA adapters on one vLLM, or each merged into full "
                            "weights on a vLLM of its own (auto: merged on the CPU build, where vLLM's LoRA path "
                            "ran at 0.2x the merged rate in `make bench`; LoRA elsewhere).")
    few_shot: int = Field(3, ge=0, description="Real examples in a prompt-only prompt.")
    oversample: float = Field(
        1.5, ge=1, le=10, description="Generate this many times the largest ratio's need, so that enough pass the "
                                      "filters (the table shows used/wanted per cell when they still fall short).")
    best_of: int = Field(
        1, ge=1, le=16, description="Candidates per kept record: of each n consecutive records of a file, the one that "
                                    "passes the filters and lies closest to its style's real class mean (style markers, "
                                    "the group's training speakers) is kept (augment.filters.best_of_verdicts); every "
                                    "generated condition alike. n times the generation.")
    max_rounds: int = Field(
        3, ge=1, le=20, description="Generation rounds per file, the first included: while fewer records of a style "
                                    "pass the filters than the largest ratio needs, another round asks for the "
                                    "shortfall / the pass rate so far (x oversample), at most as many as the first "
                                    "round. 1: no top-up.")

    @model_validator(mode="after")
    def _floor_under_ceiling(self) -> GenerationConfig:
        if self.min_tokens > self.max_tokens:
            raise ValueError(f"min_tokens ({self.min_tokens}) must not exceed max_tokens ({self.max_tokens})")
        return self


class TrackingConfig(_Strict):
    experiment: str | None = Field(None, description="MLflow experiment; default: cookiebench-<name>.")
    uri: str | None = Field(None, description="Tracking URI; default: $MLFLOW_TRACKING_URI or the local store.")
    system_metrics: bool = Field(True, description="CPU, memory (and GPU) use of the machine on the parent run's "
                                                   "System metrics tab.")


class TaskResources(_Strict):
    """What one Ray task of a kind asks the cluster for (Ray schedules on these, it does not enforce them)."""

    num_cpus: float = Field(1, gt=0)
    num_gpus: float | None = Field(None, ge=0, description="None: 1 when the cluster has a GPU (training, generation "
                                                             "and BERT cells), else 0.")
    memory_gb: float | None = Field(None, gt=0, description="Memory to reserve on the worker's node; none: no reservation.")


class ExecutorConfig(_Strict):
    """Where the units of work run: here in one process (``local``), or as Ray tasks (``ray``).

    Not part of the config digest: the same benchmark resumes under either executor.
    """

    kind: Literal["local", "ray"] = "local"
    address: str | None = Field(None, description="Ray cluster: `auto` (the one `ray start` runs here), "
                                                  "`ray://host:10001`; none: start a local cluster.")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of a local cluster started here; default: all.")
    max_retries: int = Field(3, ge=0, description="Times Ray reruns a task whose worker died.")
    train: TaskResources = TaskResources(num_cpus=1, memory_gb=4)
    generate: TaskResources = TaskResources(num_cpus=1, memory_gb=8)
    cell: TaskResources = TaskResources(num_cpus=1, memory_gb=1)
    generation_workers: int | None = Field(
        None, ge=0, description="Ray tasks that complete a generation round side by side, each with a vLLM of its "
                                "own (one GPU each on a cluster with GPUs); none: one per GPU of the cluster, so 0 "
                                "without GPUs, and generation then runs on the driver.")

    @model_validator(mode="after")
    def _ray_options_need_ray(self) -> ExecutorConfig:
        if self.address and self.kind != "ray":
            raise ValueError("an address is a Ray cluster's: set kind: ray or drop the address")
        if self.generation_workers and self.kind != "ray":
            raise ValueError("generation_workers are Ray tasks: set kind: ray or drop generation_workers")
        return self


class BenchmarkConfig(_Strict):
    name: str = Field(..., min_length=1)
    corpus: Path | None = Field(None, description="Corpus path; default: the simulated cohort.")
    reading: ReadOptions = Field(ReadOptions(), description="How the corpus is read: skip_bad, report, visits.")
    protocol: ProtocolConfig = ProtocolConfig()
    conditions: tuple[Condition, ...] = CONDITIONS
    ratios: tuple[float, ...] = Field((0.5, 1.0, 2.0), description="Synthetic per real transcript, per class.")
    classifiers: tuple[str, ...] = ("bert",)
    classifier_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    generator: GeneratorConfig = GeneratorConfig()
    generation: GenerationConfig = GenerationConfig()
    classic: dict[str, Any] = Field(default_factory=dict, description="augment.classic options.")
    filters: dict[str, Any] = Field(default_factory=dict, description="augment.filters options.")
    tracking: TrackingConfig = TrackingConfig()
    executor: ExecutorConfig = ExecutorConfig()
    output_dir: Path | None = Field(None, description="Where synthetic data, adapters and state go; default runs/<name>.")

    @field_validator("conditions")
    @classmethod
    def _none_first(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "none" not in value:
            raise ValueError("'none' must be among the conditions: every comparison is against it")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _controls_need_a_reserve(self) -> BenchmarkConfig:
        controls = [c for c in self.conditions if c in CONTROLS]
        if controls and self.protocol.reserve == 0:
            raise ValueError(f"conditions {controls} draw on held-back real speakers: set protocol.reserve "
                             "(e.g. 0.4) or drop them")
        return self

    @field_validator("ratios")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(r <= 0 for r in value):
            raise ValueError("ratios must be a non-empty list of numbers > 0")
        return tuple(sorted(set(value)))

    @field_validator("classifiers")
    @classmethod
    def _known_classifiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from detect.classifiers import DETECTORS

        unknown = [c for c in value if c not in DETECTORS]
        if unknown or not value:
            raise ValueError(f"unknown classifier(s) {unknown}; choose from {sorted(DETECTORS)}")
        return value

    @property
    def experiment(self) -> str:
        return self.tracking.experiment or f"cookiebench-{self.name}"

    def run_dir(self) -> Path:
        return self.output_dir or Path("runs") / self.name

    def digest(self) -> str:
        # Where the work runs does not change what it computes: a run resumes under either executor.
        return digest(self.model_dump(mode="json", exclude={"executor"}), 12)


def profiles() -> dict[str, Path]:
    folder = Path(str(resources.files("eval") / "profiles"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_config(name_or_path: str | Path, **overrides: Any) -> BenchmarkConfig:
    """A shipped profile by name (demo, full, ...) or a YAML file; overrides replace top-level keys."""
    path = profiles().get(str(name_or_path)) or Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"{name_or_path}: no such config file or profile (profiles: {', '.join(profiles())})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        config = BenchmarkConfig.model_validate(data)
    except ValidationError as error:
        raise _one_line(path, error) from None
    stray = [name for name in config.classifier_options if name not in config.classifiers]
    if stray:
        raise ConfigError(f"{path}: classifier_options.{stray[0]}: not among the classifiers {list(config.classifiers)}")
    for stage in ("sft", "dpo"):
        if "output_dir" in getattr(config.generator, stage):
            raise ConfigError(f"{path}: generator.{stage}.output_dir: set by the benchmark; use the top-level output_dir")
    for where, cls, options in component_options(config):
        _check_options(path, where, cls, options)
    return config


def _one_line(path: Path, error: ValidationError, prefix: tuple[str, ...] = ()) -> ConfigError:
    """The first problem of a validation error as ``path: dotted.key: problem``."""
    return ConfigError(f"{path}: {one_line(error, prefix)}")


def component_options(config: BenchmarkConfig) -> list[tuple[str, type, dict[str, Any]]]:
    """The sections handed to a component as a mapping: (key, the class that takes it, options).

    The class is a (pydantic or TRL) dataclass, or a detector (a scikit-learn estimator).
    """
    from augment.classic import ClassicConfig
    from augment.filters import FilterConfig
    from augment.pairs import PairConfig
    from augment.sampling import SampleConfig
    from augment.stages import CookieDPOConfig, CookieSFTConfig
    from detect.classifiers import detector_class

    g = config.generator
    sections = [
        # output_dir is set by the benchmark itself (one per fold group)
        ("generator.sft", CookieSFTConfig, {"output_dir": "unused", **g.sft}),
        ("generator.dpo", CookieDPOConfig, {"output_dir": "unused", **g.dpo}),
        ("generator.pairs", PairConfig, g.pairs),
        ("generator.sampling", SampleConfig, g.sampling),
        ("classic", ClassicConfig, config.classic),
        ("filters", FilterConfig, config.filters),
    ]
    for name, options in config.classifier_options.items():
        sections.append((f"classifier_options.{name}", detector_class(name), options))
    return sections


def _check_options(path: Path, where: str, cls: type, options: dict[str, Any]) -> None:
    """Unknown keys and wrong types in a component's options fail at load, not an hour into a run."""
    from pydantic import TypeAdapter

    known = [f.name for f in fields(cls)] if is_dataclass(cls) else cls._get_param_names()
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"{path}: {where}.{key}: unknown key{hint}")
    try:
        if is_dataclass(cls):
            TypeAdapter(cls).validate_python(options)
        else:  # a detector: scikit-learn's parameter constraints, whose message names the parameter
            cls(**options)._validate_params()
    except ValidationError as error:
        raise _one_line(path, error, prefix=(where,)) from None
    except (TypeError, ValueError) as error:  # a TRL config's own __post_init__ checks, or a detector's
        raise ConfigError(f"{path}: {where}: {error}") from None
