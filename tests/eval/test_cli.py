"""The `cookiebench` command line's conventions, over every command.

- An option that sets a config field defaults to "not given" and names the field; the config
  class's default is the only one (no drift can come back), and ``--help`` shows it.
- A flag given overrides the YAML, whatever its value.
- Machine output is the only thing on stdout; logs and progress go to stderr.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from detect.cli_options import ConfigDefaults, declared_defaults, default_of, shown
from detect.corpus_cli import with_flags
from detect.readers import ReadOptions, Visits
from eval.cli import app

ROOT = Path(__file__).resolve().parents[2]

# Options with a literal default that belongs to the command line itself, not to a config:
# which input to read, what to print, what to do. Anything else with a default is drift.
CLI_ONLY = {
    ("augment", "pairs"): {"split"},
    ("augment", "train"): {"split", "dpo"},
    ("benchmark",): {"config"},
    ("detect", "cv"): {"classifier"},
    ("detect", "train"): {"classifier", "split", "track"},
}


def commands(group=None, path: tuple[str, ...] = ()):
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (Typer vendors Click: no isinstance with click's classes)
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = dict(commands())


def test_every_command_is_reached():
    assert {
        ("augment", "generate"),
        ("augment", "train"),
        ("serve",),
        ("benchmark",),
        ("corpus", "inspect"),
        ("detect", "cv"),
        ("models", "prepare"),
    } <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_no_option_has_a_default_of_its_own(path):
    """Every option either defaults to "not given" (None, or an off switch) or is the command line's own."""
    command = COMMANDS[path]
    own = {
        p.name
        for p in command.params
        if p.param_type_name == "option" and p.default not in (None, False) and p.name != "help"
    }
    assert own <= CLI_ONLY.get(path, set()), (
        f"{' '.join(path)}: {sorted(own - CLI_ONLY.get(path, set()))} "
        "default to a value: name the config field (detect.cli_options.Default)"
    )


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_an_option_named_after_a_config_field_reads_the_field_and_the_command_uses_it(path):
    command = COMMANDS[path]
    defaults = declared_defaults(command.callback)
    if not defaults:
        return
    assert isinstance(command, ConfigDefaults), f"{' '.join(path)}: declare it with cls=ConfigDefaults"
    params = {p.name: p for p in command.params}
    source = inspect.getsource(inspect.unwrap(command.callback))
    for name, default in defaults.items():
        assert params[name].default is None, f"--{name} must default to not given"
        for home in default.defaults():  # each home exists and has a default
            owner = home.partition(":")[2].rpartition(".")[0]
            # the command builds that owner from what was given, or reads that very default (an option no
            # one reads is a lie); the reading options go through detect.corpus_cli.read_options / with_flags
            assert (
                re.search(rf"given\(ctx, [\w.]*\b{re.escape(owner)}\)", source)
                or f'"{home}"' in source
                or name in ("skip_bad", "visits")
            ), f"{' '.join(path)}: --{name} names {home}, never read"
        assert shown(default, params[name])


@pytest.mark.parametrize(
    "path", [("augment", "generate"), ("augment", "train"), ("serve",), ("detect", "cv")], ids=" ".join
)
def test_help_shows_the_config_classes_default(path):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.replace("│", " ").split())
    command = COMMANDS[path]
    params = {p.name: p for p in command.params}
    for name, default in declared_defaults(command.callback).items():
        assert f"[default: ({shown(default, params[name])})]" in said, name


def test_the_libraries_defaults_are_the_ones_help_shows():
    """Spot checks of the reconciled defaults against the classes, by value."""
    from augment.generation_config import SamplingConfig
    from augment.pair_config import PairConfig
    from augment.runner import Backend

    assert default_of("augment.generation_config:SamplingConfig.temperature") == SamplingConfig().temperature == 0.9
    assert (
        default_of("augment.pair_config:PairConfig.strategies")
        == PairConfig().strategies
        == ("real", "degraded", "broken")
    )
    assert default_of("augment.pair_config:PairConfig.max_pairs_per_strategy") is None
    assert default_of("augment.runner:Backend.concurrency") == Backend().concurrency
    assert default_of("augment.stages:default_lora_config.r") == 16


# -- flags over the YAML -----------------------------------------------------------------------------


def test_a_flag_given_overrides_the_config_whatever_its_value():
    from_yaml = ReadOptions(skip_bad=True, visits=Visits.first)
    assert with_flags(from_yaml, None, None, None) == from_yaml  # not given: the YAML's
    flagged = with_flags(from_yaml, False, None, Visits.all)  # given, at the default values
    assert flagged.skip_bad is False and flagged.visits == Visits.all


@pytest.mark.slow
def test_benchmark_flags_at_their_defaults_override_the_yaml(tmp_path):
    """`--visits all --no-skip-bad --executor local` over a YAML that says first, skip_bad and ray."""
    from tests.detect.test_readers import PITT, make_pitt

    corpus = make_pitt(tmp_path / "pitt", PITT)
    config = tmp_path / "my.yaml"
    config.write_text(
        f"name: flags\ncorpus: {corpus}\nreading: {{visits: first, skip_bad: true}}\n"
        "protocol: {split: cv, folds: 2, repeats: 1}\nconditions: [none]\nclassifiers: [majority]\n"
        f"tracking: {{uri: 'sqlite:///{tmp_path}/m.db', system_metrics: false}}\n"
        f"executor: {{kind: ray}}\noutput_dir: {tmp_path / 'run'}\n"
    )
    (corpus / "Control/cookie/002-0.cha").write_bytes(b"\x00binary")  # a bad file: --no-skip-bad must stop on it
    args = [
        "benchmark",
        "--config",
        str(config),
        "--visits",
        "all",
        "--executor",
        "local",
        "--report",
        str(tmp_path / "read.txt"),
    ]
    result = CliRunner().invoke(app, [*args, "--no-skip-bad"])  # the read stops at the bad file
    assert result.exit_code == 1 and "002-0.cha: " in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, args)  # the YAML's skip_bad: the bad file is left out, the run goes on
    assert result.exit_code == 0, result.output
    report = (tmp_path / "read.txt").read_text()
    assert "skipped:" in report and "002-0.cha" in report
    assert "speaker 123" in report and "labelled per visit" in report  # --visits all
    assert "kept the first visit" not in report  # not the YAML's first


# -- stdout for results only --------------------------------------------------------------------------


def _cookiebench(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "eval.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.slow
def test_inspect_json_is_the_only_thing_on_stdout():
    """`cookiebench corpus inspect --json | jq .` works: the logs and the status line go to stderr."""
    done = _cookiebench("corpus", "inspect", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    payload = json.loads(done.stdout)  # the whole of stdout parses
    assert payload["layout"] == "adress" and payload["transcripts"] > 0
    assert "read 156 transcripts" in done.stderr  # the log line is there, on stderr


@pytest.mark.slow
def test_out_dash_writes_records_alone_on_stdout(tmp_path):
    done = _cookiebench("augment", "classic", "--out", "-", "--ops", "swap", "--intensity", "0.2", "--seed", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert records and all(r["generator"]["method"] == "swap" for r in records)
    assert {r["generator"]["config_hash"] for r in records} == {"i0.2-s3"}  # the options given, nothing else
    assert "augmented copies" in done.stderr
