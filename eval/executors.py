"""Where the benchmark's units of work run: in this process, or as tasks on a Ray cluster.

    cookiebench benchmark --config demo                                 # local (default)
    cookiebench benchmark --config full --executor ray --address auto   # the cluster `ray start` runs

The benchmark (:func:`eval.benchmark.run_benchmark`) *submits* each unit (generator training
per group, classic augmentation per group, each classifier cell) with the handles of the units
it needs as arguments, and *gets* results in the order it consumes them.
Generation runs between the two, in rounds whose sizes follow from the filters' verdicts on the
round before: the driver decides each round, and runs it itself or, with ``generation_workers``
(by default one per GPU of a Ray cluster), deals its files to that many tasks, each with a vLLM
of its own. The two executors differ only in when a unit runs:

- :class:`LocalExecutor` runs a unit when its result is first asked for, in this process, so
  the order of work (and every file written) is what the sequential benchmark always did.
- :class:`RayExecutor` turns each unit into a Ray task with its declared resources; Ray starts
  it as soon as the object refs it takes as arguments are ready, and reruns it when its worker
  dies (``max_retries``). The driver alone writes the state files and logs the run to MLflow.

The unit functions themselves live in :mod:`eval.augmentation` and :mod:`eval.cells` and are
the same for both.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eval.config_sections import ExecutorConfig, TaskResources

logger = logging.getLogger(__name__)


class _Thunk:
    """A local unit: runs once, on first demand, after the units it takes as arguments."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]):
        self.fn: Callable[..., Any] | None = fn
        self.args, self.done, self.value = args, False, None

    def result(self) -> Any:
        if not self.done:
            fn, self.fn = self.fn, None  # the closure is freed once it has run
            assert fn is not None, "a unit runs once"
            self.value = fn(*(a.result() if isinstance(a, _Thunk) else a for a in self.args))
            self.done, self.args = True, ()
        return self.value


class LocalExecutor:
    """Runs each unit in this process, when the benchmark first asks for its result."""

    local = True
    generation_workers = 0  # generation runs in this process

    def share(self, value: Any) -> Any:
        return value

    def here(self, value: Any) -> Any:
        """A value that only lives in this process (a loaded model, a progress callback)."""
        return value

    def submit(
        self, fn: Callable[..., Any], *args: Any, kind: str, resources: TaskResources, gpu: bool = False
    ) -> _Thunk:
        return _Thunk(fn, args)

    def get(self, ref: Any) -> Any:
        return ref.result()

    def as_completed(self, refs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        for i, ref in enumerate(refs):
            yield i, ref.result()


def _unit(fn: Callable[..., Any], kind: str, run_id: str | None, step: int, *args: Any) -> Any:
    """A unit of work on a Ray worker: runs it, logs its wall time into the benchmark's run."""
    start = time.perf_counter()
    value = fn(*args)
    seconds = time.perf_counter() - start
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if run_id and uri.startswith(("http://", "https://")):
        from mlflow.tracking import MlflowClient

        MlflowClient(uri).log_metric(run_id, f"task_seconds/{kind}", seconds, step=step)
    return value


class RayExecutor:
    """Each unit a Ray task; the dependency graph is the call graph (object refs as arguments)."""

    local = False

    def __init__(self, config: ExecutorConfig, *, run_id: str | None = None, tracking_uri: str | None = None):
        import ray

        self.config = config
        self.started = not ray.is_initialized()
        if self.started:
            # No address: a local cluster for this benchmark alone, gone when it ends.
            ray.init(
                address=config.address,
                num_cpus=None if config.address else config.num_cpus,
                include_dashboard=False,
                logging_level=logging.WARNING,
            )
        gpus = int(ray.cluster_resources().get("GPU", 0))
        self.gpus = gpus > 0
        # One vLLM per GPU by default; on a CPU-only cluster the driver's one vLLM already has
        # every core of its machine, so generation stays there unless asked otherwise.
        self.generation_workers = config.generation_workers if config.generation_workers is not None else gpus
        self.run_id = run_id
        # A tracking server is what workers on other machines can reach; a SQLite store is a
        # file on the driver's machine (and concurrent writers would lock it): workers skip it.
        self.runtime_env = (
            {"env_vars": {"MLFLOW_TRACKING_URI": tracking_uri}}
            if tracking_uri and tracking_uri.startswith(("http://", "https://"))
            else None
        )
        self.steps: dict[str, int] = {}
        self.remote = ray.remote(_unit)
        logger.info("Ray executor on %s: %s", config.address or "a local cluster", ray.cluster_resources())

    def share(self, value: Any) -> Any:
        """One copy in the object store for every task that takes it (the corpus, the config)."""
        import ray

        return ray.put(value)

    def here(self, value: Any) -> None:
        return None

    def submit(self, fn: Callable[..., Any], *args: Any, kind: str, resources: TaskResources, gpu: bool = False) -> Any:
        gpus = resources.num_gpus if resources.num_gpus is not None else float(gpu and self.gpus)
        options: dict[str, Any] = {
            "num_cpus": resources.num_cpus,
            "num_gpus": gpus,
            "max_retries": self.config.max_retries,
            "retry_exceptions": False,  # a bug fails once, not 4 times
            "name": f"cookiebench-{kind}",
        }
        if resources.memory_gb:
            options["memory"] = int(resources.memory_gb * 2**30)
        if self.runtime_env:
            options["runtime_env"] = self.runtime_env
        step = self.steps[kind] = self.steps.get(kind, -1) + 1
        return self.remote.options(**options).remote(fn, kind, self.run_id, step, *args)

    def get(self, ref: Any) -> Any:
        import ray

        return ray.get(ref)

    def as_completed(self, refs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        import ray

        index = {ref: i for i, ref in enumerate(refs)}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                yield index[ref], ray.get(ref)

    def close(self) -> None:
        import ray

        if self.started:
            ray.shutdown()


Executor = LocalExecutor | RayExecutor


@contextmanager
def executor(
    config: ExecutorConfig, *, run_id: str | None = None, tracking_uri: str | None = None
) -> Iterator[Executor]:
    if config.kind == "local":
        yield LocalExecutor()
        return
    try:
        import ray  # noqa: F401
    except ImportError:
        from detect.errors import UserError

        raise UserError("executor ray: the `ray` package is missing; run `make setup` (it installs ray)") from None
    ray_executor = RayExecutor(config, run_id=run_id, tracking_uri=tracking_uri)
    try:
        yield ray_executor
    finally:
        ray_executor.close()
