"""What best-of-n decoding buys, and what it costs: the winners of a benchmark's best-of-n draws
against the records the same files would have given without the draw.

Run (after a benchmark with ``generation.best_of`` > 1, such as ``make demo``)::

    python -m bench best_of                                  # runs/demo
    python bench/bench_best_of.py --run runs/my-benchmark --corpus /path/to/ADReSS

For each generated condition and style, two selections from the same filtered files
(``runs/<name>/synthetic/<group>/<condition>.filtered.jsonl``):

- ``best of n``: what the benchmark kept, one winner per n candidates (the one that passes
  the filters and lies closest to its style's real class mean, :mod:`augment.filters`);
- ``first passing``: the draw undone, the first records in record order that pass the
  filters, as many as there are winners: what ``best_of: 1`` keeps from a file of that length.

Both go through the same quality report as ``bench quality`` (:mod:`augment.quality`: the
corpus's training split as the real reference, its test split for TSTR). The cost is the
records generated per kept record, and the benchmark's generation stage time from its report.
Writes ``bench-results/best_of.json`` and ``best_of.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

OUT = Path("bench-results") / "best_of.json"
COLUMNS = [
    "pass_rate",
    "passed",
    "d_iu_coverage",
    "d_words",
    "d_pronoun_ratio",
    "d_disfluency_rate",
    "style_accuracy",
    "tstr_ratio_tfidf",
    "tstr_ratio_markers",
    "distinct_2",
]


def first_passing(records, require, winners: dict[str, int]):
    """The draw undone: per style, the records up to the ``winners[style]``-th that passes the filters."""
    from augment.filters import BEST_OF, select

    out = []
    for style, wanted in winners.items():
        passing = 0
        for r in (r for r in records if r.style == style):
            if passing == wanted:
                break
            r = r.model_copy(update={"verdicts": {k: v for k, v in r.verdicts.items() if k != BEST_OF}})
            passing += bool(select([r], require))
            out.append(r)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=Path("runs/demo"), help="a finished benchmark's state folder")
    parser.add_argument("--corpus", type=Path, default=None, help="the real corpus (default: the run's)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv or [])  # `python -m bench` passes its own argv in sys.argv

    from augment.filters import BEST_OF, FilterConfig, select
    from augment.quality import GeneratorData, quality_report
    from augment.synthetic import read_records
    from augment.tstr import evaluation_splits, real_reference
    from detect.readers import load_corpus

    if not (args.run / "config.json").is_file():
        print(f"best_of: no finished benchmark in {args.run} (run `make demo` first); nothing to compare")
        return {}
    config = json.loads((args.run / "config.json").read_text())
    n = config["generation"].get("best_of", 1)
    if n < 2:
        print(f"best_of: {args.run} ran without best-of-n (generation.best_of {n}); nothing to compare")
        return {}
    start = time.perf_counter()
    corpus = load_corpus(args.corpus or config.get("corpus"))
    require = FilterConfig(**config.get("filters", {})).require
    drawn, undone = [], []
    for condition in sorted({p.name.split(".")[0] for p in args.run.glob("synthetic/*/*.filtered.jsonl")}):
        records = [r for p in sorted(args.run.glob(f"synthetic/*/{condition}.filtered.jsonl")) for r in read_records(p)]
        if not any(BEST_OF in r.verdicts for r in records):
            continue  # classic copies: no draw
        winners = {s: sum(1 for r in select(records, require) if r.style == s) for s in ("ad", "hc")}
        drawn.append(GeneratorData(f"{condition} | best of {n}", records, require=require))
        undone.append(
            GeneratorData(f"{condition} | first passing", first_passing(records, require, winners), require=require)
        )
    splits, test = evaluation_splits(corpus)
    report = quality_report(
        [g for pair in zip(undone, drawn, strict=True) for g in pair],
        real_reference(corpus),
        test_splits=splits,
        test=test,
    )
    frame = report.frame()
    frame[["condition", "selection"]] = frame.generator.str.split(" | ", expand=True, regex=False)
    frame["generated_per_kept"] = frame.records / frame.passed.where(frame.passed > 0)
    report_md = args.run / "report" / "report.md"
    stage = re.search(r"generation (\d+)", report_md.read_text()) if report_md.is_file() else None
    table = frame[["condition", "style", "selection", "generated_per_kept", *COLUMNS]]
    result = {
        "run": str(args.run),
        "best_of": n,
        "corpus": str(args.corpus or config.get("corpus") or "simulated cohort"),
        "test": test,
        "generation_stage_s": float(stage.group(1)) if stage else None,
        "seconds": time.perf_counter() - start,
        "rows": json.loads(table.to_json(orient="records")),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(
        f"# Best of {n} against the first passing records of the same files\n\nRun: {args.run}; TSTR tested on "
        f"{test}; generation stage {result['generation_stage_s']} s (all candidates). `d_*`: synthetic mean minus "
        f"real class mean in real class SDs.\n\n{table.to_markdown(index=False, floatfmt='.3f')}\n",
        encoding="utf-8",
    )
    print(f"best_of: {len(drawn)} condition(s) of {args.run} -> {args.out}")
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
