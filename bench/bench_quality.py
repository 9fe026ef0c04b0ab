"""Generation quality table: :mod:`augment.quality` on synthetic JSONL, written to bench-results/.

Run::

    python -m bench.bench_quality                                  # the demo's synthetic data, else classic copies
    python -m bench.bench_quality --synthetic 'runs/demo/synthetic/*/*.filtered.jsonl'
    python -m bench.bench_quality --corpus /path/to/ADReSS --synthetic 'synth-*.jsonl'

The default input is the filtered synthetic data of the last ``cookiebench benchmark --config
demo`` (``runs/demo/synthetic/<group>/<condition>.filtered.jsonl``, one generator per
condition); without it, classic (EDA-style) copies of the simulated cohort's training split,
which need no model, so the table always has a row. Writes ``bench-results/quality.json`` (the
whole report, its source and the seconds it took) and ``bench-results/quality.md`` (its tables).
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

OUT = Path("bench-results") / "quality.json"
DEMO = "runs/demo/synthetic/*/*.filtered.jsonl"


def _generators(pattern: str, corpus):
    """(generator data, where it came from): one generator per file name stem (a condition), or classic copies."""
    from augment.quality import GeneratorData, by_generator
    from augment.synthetic import read_records

    paths = sorted(Path(p) for p in glob.glob(pattern))
    if paths:
        by_stem: dict[str, list] = {}
        for path in paths:
            by_stem.setdefault(path.name.split(".")[0], []).extend(read_records(path))
        return [GeneratorData(name, records) for name, records in by_stem.items()], f"{len(paths)} file(s) {pattern}"
    from augment.classic import ClassicConfig, classic_augment

    training = [t for t in corpus if t.split in ("train", None)]
    copies = classic_augment(training, ClassicConfig(seed=0))
    return (
        [GeneratorData(name, records) for name, records in by_generator(copies).items()],
        f"classic copies of {len(training)} training transcripts (no files matched {pattern})",
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", default=DEMO, help="glob of synthetic JSONL files")
    parser.add_argument("--corpus", type=Path, default=None, help="the real corpus (default: the simulated cohort)")
    parser.add_argument("--out", type=Path, default=OUT)
    # `python -m bench` calls main() with its own argv in sys.argv: parse only what is passed here
    args = parser.parse_args(argv or [])

    from augment.quality import quality_report
    from augment.tstr import evaluation_splits, real_reference
    from detect.readers import load_corpus

    start = time.perf_counter()
    corpus = load_corpus(args.corpus)
    generators, source = _generators(args.synthetic, corpus)
    splits, test = evaluation_splits(corpus)
    report = quality_report(generators, real_reference(corpus), test_splits=splits, test=test)
    seconds = time.perf_counter() - start
    result = {
        "source": source,
        "corpus": str(args.corpus or "simulated cohort"),
        "seconds": seconds,
        "report": json.loads(report.model_dump_json()),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(
        f"# Generation quality\n\nSource: {source}.\n\n{report.markdown()}", encoding="utf-8"
    )
    rows = report.frame()
    print(f"quality: {len(rows)} generator x style row(s) from {source} in {seconds:.0f}s -> {args.out}")
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
