"""`cookiebench corpus stats`: a corpus's statistics beside a reference, and references as data.

Real reader, real markers (spaCy), real command; the corpora are small JSONL files made of
transcripts of the shipped simulated cohort, so that each read takes seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detect import corpus_stats
from detect.corpus_stats import Bounds, CorpusStats, Moments, compare
from detect.readers import load_corpus
from eval.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _jsonl(path: Path, transcripts) -> Path:
    rows = [{"id": t.id, "speaker_id": t.speaker_id, "label": t.label.value, "text": t.text} for t in transcripts]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """Two disjoint small corpora (24 AD + 24 HC each) cut from the shipped cohort."""
    shipped = list(load_corpus())
    ad = [t for t in shipped if t.label.value == "AD"]
    hc = [t for t in shipped if t.label.value == "HC"]
    folder = tmp_path_factory.mktemp("corpora")
    return (_jsonl(folder / "a.jsonl", ad[:24] + hc[:24]), _jsonl(folder / "b.jsonl", ad[24:48] + hc[24:48]))


def _stats(args: list[str]) -> subprocess.CompletedProcess:
    """The real `cookiebench` in a subprocess: what a user's shell sees on stdout and stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "OMP_NUM_THREADS": "2"}
    return subprocess.run(
        [sys.executable, "-c", "from eval.cli import app; app()", "corpus", "stats", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


# -- the reference file -----------------------------------------------------------------------


def test_shipped_reference_holds_the_real_pitt_figures():
    ref = corpus_stats.shipped_reference()
    assert ref.transcripts == {"AD": 309, "HC": 243}
    assert set(ref.markers) == set(corpus_stats.STATS_MARKERS)
    assert ref.markers["iu_coverage"]["AD"] == Moments(mean=0.508, sd=0.158)
    assert ref.markers["trailing_off_rate"]["HC"] == Moments(mean=0.001, sd=0.004)
    assert ref.diversity["distinct_2_n20"]["AD"] == (0.613, 0.711)
    assert ref.diversity["self_similarity_n40"]["HC"] == (0.014, 0.021)
    assert "Pitt" in ref.provenance and "no text" in ref.provenance
    text = corpus_stats.shipped_reference_path().read_text()
    assert "*PAR" not in text and "cookie jar" not in text, "summary statistics only"


def test_bounds_are_relative_and_widened_by_the_reference_rounding():
    def stats(mean: float, sd: float, span: tuple[float, float], decimals: int) -> CorpusStats:
        return CorpusStats(
            name="x",
            provenance="x",
            decimals=decimals,
            transcripts={"AD": 1},
            markers={"filler_rate": {"AD": Moments(mean=mean, sd=sd)}},
            diversity={"distinct_2_n20": {"AD": span}},
        )

    reference = stats(0.001, 0.004, (0.5, 0.6), 3)  # 0.001 stands for anything in [0.0005, 0.0015]
    checks = {c.kind: c for c in compare(stats(0.0014, 0.0047, (0.5, 0.6), 6), reference)}
    assert checks["mean"].within and checks["sd"].within and checks["range"].within
    assert checks["mean"].deviation == pytest.approx(0.4)
    checks = {c.kind: c for c in compare(stats(0.0017, 0.0054, (0.49, 0.6), 6), reference)}
    assert not checks["mean"].within and not checks["sd"].within and not checks["range"].within
    # with a full-precision reference the 10% / 20% bounds bite as written
    precise = stats(0.02, 0.01, (0.5, 0.6), 6)
    checks = {c.kind: c for c in compare(stats(0.0219, 0.0121, (0.5, 0.6), 6), precise, Bounds(mean=0.1, sd=0.2))}
    assert checks["mean"].within and not checks["sd"].within


# -- the command --------------------------------------------------------------------------------


@pytest.mark.slow
def test_json_is_a_reference_and_the_only_thing_on_stdout(corpora, tmp_path):
    a, _ = corpora
    run = _stats([str(a), "--json"])
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)  # nothing but the JSON: the read's log lines went to stderr
    assert "read 48 transcripts" in run.stderr
    assert data["transcripts"] == {"AD": 24, "HC": 24}
    assert set(data["markers"]) == set(corpus_stats.STATS_MARKERS)
    assert set(data["diversity"]) == {"distinct_2_n20", "distinct_2_n40", "self_similarity_n20", "self_similarity_n40"}
    ref = tmp_path / "a.json"
    ref.write_text(run.stdout)
    assert corpus_stats.load_reference(ref) == CorpusStats.model_validate(data)  # round trip
    # the corpus against its own statistics: every figure within bounds
    result = CliRunner().invoke(
        app, ["corpus", "stats", str(a), "--reference", str(ref), "--out", str(tmp_path / "t.md")]
    )
    assert result.exit_code == 0, result.output
    compared = 14 * 2 * 2 + 4 * 2
    assert f"{compared} of {compared} figures within bounds" in result.stdout
    table = (tmp_path / "t.md").read_text()
    assert "| iu_coverage |" in table and "| distinct_2_n40 |" in table and " OUT" not in table


@pytest.mark.slow
def test_reference_may_be_a_second_corpus(corpora):
    a, b = corpora
    result = CliRunner().invoke(app, ["corpus", "stats", str(a), "--reference", str(b)])
    assert result.exit_code == 0, result.output
    assert "a.jsonl (24 AD, 24 HC transcripts) against b.jsonl (24 AD, 24 HC)" in result.stdout
    assert "| b.jsonl AD mean (SD) | a.jsonl AD mean (SD) |" in result.stdout
    assert "figures within bounds" in result.stdout


def test_default_reference_is_real_pitt(corpora):
    a, _ = corpora
    result = CliRunner().invoke(app, ["corpus", "stats", str(a)])
    assert result.exit_code == 0, result.output
    assert "against real Pitt (309 AD, 243 HC)" in result.stdout
    assert "| iu_coverage | 0.508 (0.158) |" in result.stdout


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"name": "x"}), "not a statistics reference: provenance: Field required"),
        ("", "not JSON"),
    ],
)
def test_bad_reference_file_is_one_line_naming_it(corpora, tmp_path, content, problem):
    a, _ = corpora
    bad = tmp_path / "ref.json"
    bad.write_text(content)
    result = CliRunner().invoke(app, ["corpus", "stats", str(a), "--reference", str(bad)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {bad}") and problem in lines[0]
    assert "cookiebench corpus stats CORPUS --json" in lines[0]


def test_missing_reference_is_one_line(corpora, tmp_path):
    a, _ = corpora
    result = CliRunner().invoke(app, ["corpus", "stats", str(a), "--reference", str(tmp_path / "nothing.json")])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: {tmp_path / 'nothing.json'}: no such reference file or corpus "
        "(give a file from `cookiebench corpus stats CORPUS --json` or a corpus folder)"
    )
