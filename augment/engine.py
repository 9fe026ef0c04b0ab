"""vLLM without a server: ``vllm.LLM`` in a worker process of its own.

:class:`InProcessEngine` drives vLLM's public offline API (``LLM.chat`` with one
``SamplingParams`` per record, carrying its seed, and a ``LoRARequest`` for an adapter
asked for by name). ``LLM.chat`` returns only when its whole list is done, so a batch
goes in chunks of ``chunk`` prompts: each chunk's records are handed on (and written)
as soon as it finishes, and an interruption loses at most one chunk.

:class:`EngineProcess` runs that engine in a child process (``python -m augment.engine``,
with the lifecycle of every vLLM process here, :class:`augment.serve.VLLMProcess`: under
:mod:`augment.lifeline`, so it dies with us) and streams the completions back over a pipe.
The engine runs with the same arguments as the server (:meth:`augment.serve.VLLMConfig.engine_args`).
A process of its own, rather than ``vllm.LLM`` in the caller's, because the CPU
build's settings are read from the environment at start-up
(:meth:`augment.serve.VLLMConfig.environment`: ``OMP_NUM_THREADS``,
``VLLM_CPU_OMP_THREADS_BIND``, ``VLLM_ENABLE_V1_MULTIPROCESSING=0``...) and its CPU worker
pins threads and replaces ``torch.set_num_threads`` for the rest of the process: none of
that may leak into a benchmark that trains classifiers afterwards. The child's
environment is built for it and handed to ``Popen``; no ``os.environ`` is written.

Run::

    with EngineProcess(
        VLLMConfig(adapters={"ad": Path("runs/generators/ad/dpo/adapter")}, merged=True, enforce_eager=True)
    ) as engine:
        for completion in engine.generate(prompts, SamplingConfig(seed=0), model="ad"):
            ...
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import IO, Any

from augment import lifeline
from augment.generate import Completion, GenerationError, Messages
from augment.generation_config import SamplingConfig
from augment.serve import ServeError, VLLMConfig, VLLMProcess, is_cpu_build

logger = logging.getLogger(__name__)

DEFAULT_CHUNK = 64  # prompts per LLM.chat call: what an interruption can lose, and the batch vLLM sees at once


class InProcessEngine:
    """``vllm.LLM`` in this process.

    Expects the environment of :meth:`augment.serve.VLLMConfig.environment` with
    ``in_process=True`` to be in place before vLLM is first imported (it reads it then);
    :class:`EngineProcess` starts a process with it. On the CPU build, after this engine
    starts, ``torch.set_num_threads`` no longer works in this process (vLLM's CPU worker
    replaces it).
    """

    def __init__(self, engine_args: Mapping[str, Any], loras: Mapping[str, str]):
        """``engine_args``: ``vllm.LLM``'s keywords (:meth:`augment.serve.VLLMConfig.engine_args`);
        ``loras``: the adapter folders it serves by name."""
        from vllm import LLM

        if is_cpu_build() and "OMP_NUM_THREADS" not in os.environ:
            logger.warning("OMP_NUM_THREADS is not set: the CPU build's in-process engine runs 20-60x slower")
        self.loras = dict(loras)
        self.llm = LLM(**engine_args, trust_remote_code=False)

    def _lora(self, model: str | None):
        from vllm.lora.request import LoRARequest

        if model is None or model not in self.loras:
            return None  # the model folder itself: the base model, or an adapter merged into it
        return LoRARequest(model, list(self.loras).index(model) + 1, self.loras[model])

    def generate(
        self,
        prompts: Sequence[Messages],
        sampling: SamplingConfig,
        *,
        indices: Sequence[int] | None = None,
        model: str | None = None,
        chunk: int = DEFAULT_CHUNK,
    ) -> Iterator[Completion]:
        """Completions of ``prompts`` (``prompts[k]`` seeded ``seed + indices[k]``), a chunk at a time, in order."""
        from vllm import SamplingParams

        indices = list(range(len(prompts))) if indices is None else list(indices)
        assert len(indices) == len(prompts), f"{len(indices)} indices for {len(prompts)} prompts"
        lora = self._lora(model)
        chunk = max(1, chunk)
        for start in range(0, len(prompts), chunk):
            part = indices[start : start + chunk]
            # vLLM's own fields (min-p, the length floor) as the server gets them in the request body
            params = [
                SamplingParams(
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    frequency_penalty=sampling.frequency_penalty,
                    max_tokens=sampling.token_budget(i)[1],
                    seed=sampling.seed + i,
                    **sampling.vllm_extras(i),
                )
                for i in part
            ]
            outputs = self.llm.chat(list(prompts[start : start + chunk]), params, use_tqdm=False, lora_request=lora)
            for i, output in zip(part, outputs, strict=True):
                first = output.outputs[0]
                yield Completion(i, first.text.strip(), first.finish_reason, len(first.token_ids))


class EngineProcess(VLLMProcess):
    """An :class:`InProcessEngine` in a child process that dies with this one; a context manager."""

    kind = "engine"
    stop_grace_s = 5.0

    def __init__(self, config: VLLMConfig):
        super().__init__(config)
        self._conn: Connection | None = None
        self._requests = 0  # generate calls sent; the worker tags every message with the call's number

    def _launch(self, log: IO[bytes]) -> subprocess.Popen:
        engine_args, loras = self.config.engine_args()
        ours, theirs = multiprocessing.Pipe()
        logger.info(
            "starting vLLM engine on %s%s (log: %s)",
            engine_args["model"],
            f" with adapters {sorted(loras)}" if loras else "",
            self.log_path,
        )
        spec = json.dumps([engine_args, {name: str(path) for name, path in loras.items()}])
        try:
            process = lifeline.launch(
                "augment.engine",
                [str(theirs.fileno()), spec],
                env=self.config.environment(in_process=True),
                stdout=log,
                pass_fds=(theirs.fileno(),),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._conn = ours
        return process

    def _channel(self) -> Connection:
        assert self._conn is not None, "the engine worker was not started"
        return self._conn

    def _poll_ready(self) -> bool:
        """Ready when the worker says so; it says why when it cannot start."""
        if not self._channel().poll(1.0):
            return False
        try:
            _, kind, detail = self._channel().recv()
        except (EOFError, OSError):  # the worker is gone: its exit code says the rest
            self._started().wait(timeout=30)
            return False
        if kind != "ready":
            try:
                self._started().wait(timeout=10)  # so that the log tail holds its traceback
            except subprocess.TimeoutExpired:
                pass
            raise self.failure(f"failed to start ({detail})")
        return True

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # EOF on its pipe: an idle worker exits at once
            self._conn = None
        if self.process is not None:
            try:
                self._started().wait(timeout=5.0)
            except subprocess.TimeoutExpired:  # still generating for a call nobody reads any more
                pass

    def _receive(self, when: str) -> tuple[int, str, Any]:
        try:
            return self._channel().recv()
        except (EOFError, OSError):
            code = self._started().wait(timeout=30) if self.process else None
            logger.error("vLLM engine log %s ends:\n%s", self.log_path, self.log_tail())
            raise GenerationError(f"vLLM engine exited with code {code} {when} (log {self.log_path})") from None

    def generate(
        self,
        prompts: Sequence[Messages],
        sampling: SamplingConfig,
        *,
        indices: Sequence[int] | None = None,
        model: str | None = None,
        chunk: int = DEFAULT_CHUNK,
    ) -> Iterator[Completion]:
        """As :meth:`InProcessEngine.generate`, each chunk's completions as the worker finishes it.

        A call left unfinished (the caller stopped iterating) leaves the worker busy with
        it until it is done; the next call skips what is left of it.
        """
        if self._conn is None:
            raise ServeError("engine not started")
        indices = list(range(len(prompts))) if indices is None else list(indices)
        self._requests += 1
        self._conn.send((self._requests, (list(prompts), sampling, indices, model, chunk)))
        while True:
            request, kind, detail = self._receive("while generating")
            if request != self._requests:
                continue  # the rest of an earlier call that was not read to the end
            if kind == "completion":
                yield detail
            elif kind == "done":
                return
            else:
                raise GenerationError(f"vLLM engine failed: {detail} (log {self.log_path})")


def main(argv: list[str]) -> None:
    """The worker: ``python -m augment.engine FD '[ENGINE_ARGS, LORAS]'`` (JSON), started by :class:`EngineProcess`.

    Every message to the parent is ``(call number, kind, detail)``; call 0 is the start-up.
    """
    conn = Connection(int(argv[0]))
    try:
        engine = InProcessEngine(*json.loads(argv[1]))
    except Exception as exc:
        conn.send((0, "error", f"{type(exc).__name__}: {exc}"))
        raise
    conn.send((0, "ready", None))
    while True:
        try:
            request, (prompts, sampling, indices, model, chunk) = conn.recv()
        except EOFError:  # the parent closed the pipe: done
            # Nothing is left to save, and vLLM's interpreter shutdown is slow (seconds on a
            # loaded 2-core machine: bench-results/README.md, B22): leave at once.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        try:
            for completion in engine.generate(prompts, sampling, indices=indices, model=model, chunk=chunk):
                conn.send((request, "completion", completion))
        except Exception as exc:
            conn.send((request, "error", f"{type(exc).__name__}: {exc}"))
            continue
        conn.send((request, "done", None))


if __name__ == "__main__":
    main(sys.argv[1:])
