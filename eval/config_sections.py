"""The benchmark config's own sections, those that configure no library component: the protocol
(how speakers are split), MLflow tracking, and the executor with each Ray task's resources.
:class:`eval.config.BenchmarkConfig` holds them beside the library's configs."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.dataclasses import dataclass

STRICT = ConfigDict(extra="forbid")  # an unknown key is an error, never ignored


@dataclass(frozen=True, config=STRICT)
class ProtocolConfig:
    """How speakers are split into training and test; ``describe()`` says it in words."""

    split: Literal["cv", "adress"] = Field(
        default="cv", description="Speaker-grouped CV, or the fixed ADReSS train/test split."
    )
    folds: int = Field(default=5, ge=2, description="K in speaker-grouped stratified K-fold.")
    repeats: int = Field(
        default=3,
        ge=1,
        description="Repeats, each with its own seed: under CV new folds; on either split a new draw of each "
        "cell's extras (its synthetic subset from the pool, its reserve transcripts) and new "
        "classifier seeds.",
    )
    seed: int = Field(default=0, description="First seed; repeats use seed, seed+1, ...")
    reserve: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Share of each fold's training speakers held back (stratified, seeded by `seed`) "
        "as the reserve the `real` and `flipped` controls draw from; every condition, "
        "generators included, trains on the rest only. 0: no reserve.",
    )
    pool: float = Field(
        default=2.0,
        ge=1,
        le=10,
        description="On the fixed split over several repeats: synthetic records generated per style "
        "(passing the filters) as a multiple of what the largest ratio needs; each "
        "repeat draws its cells' subsets from this pool (nested across ratios), so "
        "repeats vary the synthetic data. It multiplies generation's cost; 1: every "
        "repeat draws from just enough. Under CV each fold's generators serve that fold "
        "alone, and a pool of 1 is made.",
    )

    threshold: Literal["fixed", "inner-cv"] = Field(
        default="fixed",
        description="F1's decision threshold on P(AD): fixed at 0.5, or chosen per cell from its training "
        "data alone by speaker-grouped inner CV (detect.classifiers.threshold; 3 more fits a "
        "cell).",
    )
    sizes: tuple[int, ...] = Field(
        default=(),
        description="The low-resource protocol: training-set sizes, in speakers, at which every fold is also run "
        "(its base cut to that many, stratified, seeded by `seed`, nested), each cut with generators "
        "of its own and the same reserve; the whole base is always run too. (): the whole base only.",
    )

    @field_validator("sizes")
    @classmethod
    def _cuts(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(size < 4 for size in value):
            raise ValueError("each training size must be >= 4 speakers (2 per class at least)")
        return tuple(sorted(set(value)))

    def pool_factor(self) -> float:
        """The pool a group's synthetic data must reach, in multiples of the largest ratio's need:
        ``pool`` where a group serves several repeats (the fixed split), else 1."""
        return self.pool if self.split == "adress" and self.repeats > 1 else 1.0

    def describe(self) -> str:
        split = f"{self.folds}-fold CV" if self.split == "cv" else "the fixed ADReSS split"
        held = f", {self.reserve:.0%} of training speakers held back" if self.reserve else ""
        sizes = f", at {', '.join(map(str, self.sizes))} and all base speakers" if self.sizes else ""
        return f"{split} x {self.repeats} repeat{'s' * (self.repeats != 1)}{held}{sizes}"


@dataclass(frozen=True, config=STRICT)
class TrackingConfig:
    experiment: str | None = Field(default=None, description="MLflow experiment; default: cookiebench-<name>.")
    uri: str | None = Field(default=None, description="Tracking URI; default: $MLFLOW_TRACKING_URI or the local store.")
    system_metrics: bool = Field(
        default=True, description="CPU, memory (and GPU) use of the machine on the parent run's System metrics tab."
    )


@dataclass(frozen=True, config=STRICT)
class TaskResources:
    """What one Ray task of a kind asks the cluster for (Ray schedules on these, it does not enforce them)."""

    num_cpus: float = Field(default=1, gt=0)
    num_gpus: float | None = Field(
        default=None,
        ge=0,
        description="None: 1 when the cluster has a GPU (training, generation and BERT cells), else 0.",
    )
    memory_gb: float | None = Field(
        default=None, gt=0, description="Memory to reserve on the worker's node; none: no reservation."
    )


@dataclass(frozen=True, config=STRICT)
class ExecutorConfig:
    """Where the units of work run: here in one process (``local``), or as Ray tasks (``ray``).

    Not part of the config digest: the same benchmark resumes under either executor.
    """

    kind: Literal["local", "ray"] = "local"
    address: str | None = Field(
        default=None,
        description="Ray cluster: `auto` (the one `ray start` runs here), "
        "`ray://host:10001`; none: start a local cluster.",
    )
    num_cpus: int | None = Field(default=None, ge=1, description="CPUs of a local cluster started here; default: all.")
    max_retries: int = Field(default=3, ge=0, description="Times Ray reruns a task whose worker died.")
    train: TaskResources = TaskResources(num_cpus=1, memory_gb=4)
    generate: TaskResources = TaskResources(num_cpus=1, memory_gb=8)
    cell: TaskResources = TaskResources(num_cpus=1, memory_gb=1)
    generation_workers: int | None = Field(
        default=None,
        ge=0,
        description="Ray tasks that complete a generation round side by side, each with a vLLM of its "
        "own (one GPU each on a cluster with GPUs); none: one per GPU of the cluster, so 0 "
        "without GPUs, and generation then runs on the driver.",
    )

    @model_validator(mode="after")
    def _ray_options_need_ray(self) -> ExecutorConfig:
        if self.address and self.kind != "ray":
            raise ValueError("an address is a Ray cluster's: set kind: ray or drop the address")
        if self.generation_workers and self.kind != "ray":
            raise ValueError("generation_workers are Ray tasks: set kind: ray or drop generation_workers")
        return self
