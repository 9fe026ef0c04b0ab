"""Benchmark configuration: YAML validated on load, one-line errors naming the key.

``cookiebench benchmark --config demo`` takes a shipped profile (``eval/profiles/*.yaml``);
any other value is a path to a YAML file of the same shape.

Every section is a pydantic dataclass, and a section that configures a component of the
library *is* that component's config: ``generator.sft`` a :class:`~augment.stages.CookieSFTConfig`,
``generator.pairs`` a :class:`~augment.pair_config.PairConfig`, ``filters`` a
:class:`~augment.filters.FilterConfig`, ``generation`` a :class:`~augment.generation_config.SamplingOptions`
with the benchmark's own options beside. So each default is written once, in the library,
and each key is checked on load by the class that will use it (a wrong or unknown key is one
line naming it: ``my.yaml: generator.sft.learning_rat: unknown key (did you mean learning_rate?)``).
"""

from __future__ import annotations

import difflib
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, TypeAdapter, ValidationError, field_serializer, field_validator, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import InitErrorDetails, PydanticCustomError, to_jsonable_python

from augment.classic import ClassicConfig
from augment.filters import FilterConfig
from augment.generation_config import SamplingOptions
from augment.pair_config import PairConfig
from augment.prompt_only import PromptOnlyConfig
from augment.prompts import Mode
from augment.runner import Backend
from augment.sampling import SampleConfig
from augment.stages import CookieDPOConfig, CookieSFTConfig
from augment.train import GeneratorConfig as TrainingConfig
from detect.cli_options import default_of
from detect.errors import ConfigError, one_line
from detect.hashing import digest
from detect.readers import ReadOptions
from eval.config_sections import STRICT, ExecutorConfig, ProtocolConfig, TrackingConfig

Condition = Literal["none", "classic", "prompt-only", "sft", "dpo", "real", "flipped"]
CONDITIONS: tuple[Condition, ...] = ("none", "classic", "prompt-only", "sft", "dpo")
GENERATED: tuple[str, ...] = ("prompt-only", "sft", "dpo")
# The controls: `real` adds held-back real transcripts (what more real data is worth: it must
# help); `flipped` adds the same transcripts with the wrong label (it must hurt).
REAL, FLIPPED = "real", "flipped"
CONTROLS: tuple[str, ...] = (REAL, FLIPPED)

# The benchmark's own defaults for generator.sampling, under what a YAML sets: fewer samples than
# `augment train` takes and no base-model row, since they feed the generated and broken pairs only.
BENCHMARK_SAMPLING: dict[str, Any] = {"n": 8, "base": False}


def _changed_fields(value: Any, reference: Any) -> dict[str, Any]:
    """The fields of a component config that differ from ``reference`` (its section's default), JSON-able:
    what a YAML changed, so that config.json, MLflow's params and the digest stay short (a TRL config has
    over a hundred fields)."""
    return {
        f.name: to_jsonable_python(getattr(value, f.name), fallback=str)
        for f in fields(value)
        if getattr(value, f.name) != getattr(reference, f.name)
    }


def _section_default(owner: Any, name: str) -> Any:  # a pydantic model or dataclass
    return owner.__pydantic_fields__[name].get_default(call_default_factory=True)


@dataclass(frozen=True, config=STRICT)
class GeneratorConfig:
    """The generators trained per group (:func:`augment.train.train_generators`), one library config per stage."""

    base_model: Path | None = Field(
        default=None, description="Local HF causal-LM folder; default: SmolLM2-135M-Instruct."
    )
    mode: Mode = Field(
        default=TrainingConfig.mode,
        description="separate: one adapter per style; conditional: one adapter, the style in the prompt.",
    )
    pairs: PairConfig = Field(default_factory=PairConfig, description="DPO's preference pairs.")
    # output_dir is left to the stages: each checkpoints under its own folder in the group's.
    sft: CookieSFTConfig = Field(default_factory=CookieSFTConfig, description="The SFT stage (TRL's SFTConfig).")
    dpo: CookieDPOConfig = Field(default_factory=CookieDPOConfig, description="The DPO stage (TRL's DPOConfig).")
    sampling: SampleConfig = Field(
        default_factory=lambda: SampleConfig(**BENCHMARK_SAMPLING), description="Samples after each stage."
    )

    @field_validator("sft", "dpo")
    @classmethod
    def _output_dir_is_the_benchmarks(cls, stage: Any) -> Any:
        if stage.output_dir != type(stage)().output_dir:  # TRL fills in its default after __init__
            raise _error_at(
                ("output_dir",),
                "set by the benchmark (a folder per stage under the run's); use the top-level output_dir",
                stage.output_dir,
            )
        return stage

    @field_validator("sampling", mode="before")
    @classmethod
    def _under_the_benchmarks_sampling(cls, value: Any) -> Any:
        return {**BENCHMARK_SAMPLING, **value} if isinstance(value, dict) else value

    @field_serializer("pairs", "sft", "dpo", "sampling")
    def _as_changed(self, value: Any, info: Any) -> dict[str, Any]:
        return _changed_fields(value, _section_default(type(self), info.field_name))


@dataclass(frozen=True, config=STRICT)
class GenerationConfig(SamplingOptions):
    """How synthetic data is generated: :class:`~augment.generation_config.SamplingOptions` (temperature, min_p,
    top_p, max_tokens, min_tokens, frequency_penalty), where it runs (:class:`augment.runner.Backend`'s
    options) and the benchmark's own rounds. The seed is the protocol's."""

    concurrency: int = Field(
        default=Backend.concurrency,
        ge=1,
        description="Requests in flight on a server; prompts per engine call in-process.",
    )
    enforce_eager: bool = Field(
        default=Backend.enforce_eager, description="vLLM without graph compilation: fast start, lower throughput."
    )
    endpoint: str | None = Field(
        default=Backend.endpoint, description="Use a running vLLM server instead of starting one."
    )
    backend: Literal["auto", "in-process", "server"] = Field(
        default=Backend.where,
        description="Without an endpoint, run vLLM in-process (vllm.LLM in a worker process, no HTTP) "
        "or as an OpenAI-compatible server (auto: in-process on the CPU build, a server "
        "elsewhere; see augment.runner).",
    )
    adapters: Literal["auto", "lora", "merged"] = Field(
        default=Backend.weights,
        description="Run the trained generators as LoRA adapters on one vLLM, or each merged into "
        "full weights on a vLLM of its own (auto: merged on the CPU build, where vLLM's "
        "LoRA path is slow: bench-results/README.md; LoRA elsewhere).",
    )
    few_shot: int = Field(default=PromptOnlyConfig.shots, ge=0, description="Real examples in a prompt-only prompt.")
    oversample: float = Field(
        default=1.5,
        ge=1,
        le=10,
        description="Generate this many times the largest ratio's need, so that enough pass the "
        "filters (the table shows used/wanted per cell when they still fall short).",
    )
    best_of: int = Field(
        default=default_of("augment.filters:apply_filters.best_of"),
        ge=1,
        le=16,
        description="Candidates per kept record: of each n consecutive records of a file, the one that passes the "
        "filters and lies closest to its style's real class mean (style markers, the group's training "
        "speakers) is kept (augment.filters.best_of_verdicts); every generated condition alike. n times "
        "the generation.",
    )
    max_rounds: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Generation rounds per file, the first included: while fewer records of a style "
        "pass the filters than the largest ratio needs, another round asks for the "
        "shortfall / the pass rate so far (x oversample), at most as many as the first "
        "round. 1: no top-up.",
    )


@dataclass(frozen=True, config=STRICT)
class BenchmarkConfig:
    name: str = Field(default=..., min_length=1)
    corpus: Path | None = Field(default=None, description="Corpus path; default: the simulated cohort.")
    reading: ReadOptions = Field(
        default_factory=ReadOptions, description="How the corpus is read: skip_bad, report, visits."
    )
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig)
    conditions: tuple[Condition, ...] = CONDITIONS
    ratios: tuple[float, ...] = Field(default=(0.5, 1.0, 2.0), description="Synthetic per real transcript, per class.")
    control_ratios: tuple[float, ...] = Field(
        default=(),
        description="Held-back real transcripts per real training transcript, per class, that the `real` and "
        "`flipped` controls add; (): the same as `ratios`. Controls cost no generation, and real data's "
        "help shows at large ratios on a small base.",
    )
    classifiers: tuple[str, ...] = ("bert",)
    classifier_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per classifier, its detector's parameters (detect.classifiers)."
    )
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    classic: ClassicConfig = Field(
        default_factory=ClassicConfig, description="Classic augmentation; its seed is protocol.seed."
    )
    filters: FilterConfig = Field(default_factory=FilterConfig, description="Filters of every synthetic record.")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    output_dir: Path | None = Field(
        default=None, description="Where synthetic data, adapters and state go; default runs/<name>."
    )

    @field_validator("conditions")
    @classmethod
    def _none_first(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "none" not in value:
            raise ValueError("'none' must be among the conditions: every comparison is against it")
        return tuple(dict.fromkeys(value))

    @field_validator("ratios")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(r <= 0 for r in value):
            raise ValueError("ratios must be a non-empty list of numbers > 0")
        return tuple(sorted(set(value)))

    @field_validator("control_ratios")
    @classmethod
    def _positive_or_none(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(r <= 0 for r in value):
            raise ValueError("control_ratios must be numbers > 0 (or an empty list: the same as ratios)")
        return tuple(sorted(set(value)))

    def ratios_of(self, condition: str) -> tuple[float, ...]:
        """The ratios a condition's cells are scored at (`none`: none)."""
        if condition == "none":
            return ()
        return (self.control_ratios or self.ratios) if condition in CONTROLS else self.ratios

    @field_validator("classifiers")
    @classmethod
    def _known_classifiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from detect.classifiers import DETECTORS

        unknown = [c for c in value if c not in DETECTORS]
        if unknown or not value:
            raise ValueError(f"unknown classifier(s) {unknown}; choose from {sorted(DETECTORS)}")
        return value

    @field_validator("classifier_options")
    @classmethod
    def _detector_parameters(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Each detector's options, checked by the detector itself (its parameters and their constraints)."""
        for name, options in value.items():
            _check_detector(name, options)
        return value

    @field_validator("classic")
    @classmethod
    def _seeded_by_the_protocol(cls, value: ClassicConfig) -> ClassicConfig:
        if value.seed != ClassicConfig.seed:
            raise _error_at(("seed",), "classic augmentation is seeded with protocol.seed; set that", value.seed)
        return value

    @model_validator(mode="after")
    def _controls_need_a_reserve(self) -> BenchmarkConfig:
        controls = [c for c in self.conditions if c in CONTROLS]
        if controls and self.protocol.reserve == 0:
            raise ValueError(
                f"conditions {controls} draw on held-back real speakers: set protocol.reserve (e.g. 0.4) or drop them"
            )
        if self.control_ratios and not controls:
            raise ValueError("control_ratios: no control (`real`, `flipped`) among the conditions to use them")
        return self

    @model_validator(mode="after")
    def _options_of_used_classifiers(self) -> BenchmarkConfig:
        stray = [name for name in self.classifier_options if name not in self.classifiers]
        if stray:
            raise ValueError(f"classifier_options.{stray[0]}: not among the classifiers {list(self.classifiers)}")
        return self

    @field_serializer("classic", "filters")
    def _as_changed(self, value: Any, info: Any) -> dict[str, Any]:
        return _changed_fields(value, _section_default(type(self), info.field_name))

    @property
    def experiment(self) -> str:
        return self.tracking.experiment or f"cookiebench-{self.name}"

    def run_dir(self) -> Path:
        return self.output_dir or Path("runs") / self.name

    def as_dict(self) -> dict[str, Any]:
        """JSON-able; a library config's section as the fields it changes from the section's default."""
        return _ADAPTER.dump_python(self, mode="json")

    def digest(self) -> str:
        # Where the work runs does not change what it computes: a run resumes under either executor.
        return digest({k: v for k, v in self.as_dict().items() if k != "executor"}, 12)


_ADAPTER = TypeAdapter(BenchmarkConfig)
_KEY_ERROR = "config_key"


def _check_detector(name: str, options: dict[str, Any]) -> None:
    """A detector's options as its estimator takes them: known parameters (one-line error naming the key,
    with the nearest names) within the estimator's declared constraints."""
    from detect.classifiers import DETECTORS

    if name not in DETECTORS:
        return  # `classifiers` names the unknown one
    cls = DETECTORS[name]
    known = cls._get_param_names()
    for key in options:
        if key not in known:
            raise _error_at((name, key), "unknown key" + _did_you_mean(key, known), options[key])
    try:  # scikit-learn's parameter constraints, whose message names the parameter
        cls(**options)._validate_params()
    except (TypeError, ValueError) as error:
        raise _error_at((name,), one_line(error), options) from None


def _error_at(loc: tuple[str, ...], problem: str, value: Any) -> ValidationError:
    """A validation error at ``loc``, below the field being validated, that says ``problem`` (a validator
    raises it; pydantic puts the field's own key in front)."""
    kind = PydanticCustomError(_KEY_ERROR, "{problem}", {"problem": problem})
    return ValidationError.from_exception_data("config", [InitErrorDetails(type=kind, loc=loc, input=value)])


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def profiles() -> dict[str, Path]:
    folder = Path(str(resources.files("eval") / "profiles"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_config(name_or_path: str | Path, **overrides: Any) -> BenchmarkConfig:
    """A shipped profile by name (demo, full, ...) or a YAML file, with ``overrides`` laid over it.

    An override replaces its key; a mapping (``executor={"kind": "ray"}``) goes into the section,
    key by key. ``None`` values are not given: they change nothing.
    """
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
    try:
        return _ADAPTER.validate_python(_laid_over(data, overrides))
    except ValidationError as error:
        raise ConfigError(f"{path}: {_one_line(error)}") from None


def _laid_over(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _laid_over(out[key], value)
        elif isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if v is not None}
        elif value is not None:
            out[key] = value
    return out


def _one_line(error: ValidationError) -> str:
    """The first problem as ``dotted.key: problem``; an unknown key with the nearest known ones."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        *section, key = (str(part) for part in first["loc"])
        return f"{where}: unknown key" + _did_you_mean(key, _keys_of(section))
    if first["type"] == _KEY_ERROR:
        return f"{where}: {first['msg']}"
    if first["type"] == "value_error" and not first["loc"]:
        return str(first["ctx"]["error"])  # a check across sections names its keys itself
    return one_line(error)


def _keys_of(section: list[str]) -> list[str]:
    """The keys a section of :class:`BenchmarkConfig` takes (``["generator", "sft"]``: CookieSFTConfig's)."""
    owner: Any = BenchmarkConfig
    for part in section:
        owner = owner.__pydantic_fields__[part].annotation
    names = getattr(owner, "model_fields", None)  # a pydantic model (reading: ReadOptions)
    return list(names) if names is not None else [f.name for f in fields(owner)]
