"""Marker throughput: batched ``nlp.pipe`` vs one document at a time, and a cached pass.

Run::

    python -m bench.bench_markers                  # shipped simulated cohort (or sample texts)
    python -m bench.bench_markers --repeats 3 --batch-size 64
    python -m bench.bench_markers --corpus /path/to/ADReSS

Writes ``bench-results/markers.json``: transcripts/s for each path, their ratio, and the
rate of a second (cached) pass. Each repeat uses fresh extractors (empty caches) over one
shared, warmed-up pipeline, and the best repeat is kept: on a shared machine the best is
the least disturbed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

OUT = Path("bench-results") / "markers.json"

# Used only when the simulated cohort is not there yet: Cookie Theft-like descriptions of
# varied length, repeated with a counter so no two texts hit the same cache entry.
SAMPLE_TEXTS = [
    "The boy is on the stool and he is taking cookies from the cookie jar. The stool is tipping over. "
    "The girl is reaching up for a cookie and saying shh. The mother is drying dishes at the sink and "
    "the water is overflowing onto the floor. She doesn't notice. Outside the window there is a garden.",
    "Well there's a boy. And a girl. They're getting cookies. The lady is washing. Water. I don't know.",
    "The kitchen has curtains at the window and the cupboard is open. The woman is holding a plate and a "
    "dish towel while the sink runs over, and the little boy is about to fall off the stool.",
    "A mother. The boy. Up there. The jar. That's all I see.",
]


def _transcripts(limit: int | None, path: Path | None = None):
    from detect.records import Transcript

    try:
        from detect.readers import load_corpus

        corpus = list(load_corpus(path))
        source = f"corpus {path}" if path else "simulated cohort (detect.readers.load_corpus())"
    except Exception as error:  # cohort or reader not there yet: fall back, and say so in the JSON
        if path is not None:
            raise
        log.warning("simulated cohort unavailable (%s); using sample texts", error)
        corpus = [
            Transcript(id=f"s{i}", speaker_id=f"s{i}", label=None, text=f"{SAMPLE_TEXTS[i % len(SAMPLE_TEXTS)]} ({i})")
            for i in range(160)
        ]
        source = f"sample texts ({len(corpus)})"
    return (corpus[:limit] if limit else corpus), source


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="fresh-cache passes per path; the best is kept")
    parser.add_argument("--batch-size", type=int, default=32, help="nlp.pipe batch size")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N transcripts")
    parser.add_argument("--corpus", type=Path, default=None, help="a corpus path (default: the simulated cohort)")
    parser.add_argument("--out", type=Path, default=OUT)
    # `python -m bench` calls main() with its own argv in sys.argv: parse only what is passed here
    args = parser.parse_args(argv or [])

    import pandas as pd
    import spacy

    from detect.markers import MARKERS, MarkerExtractor, load_pipeline

    transcripts, source = _transcripts(args.limit, args.corpus)
    n = len(transcripts)
    nlp = load_pipeline()
    list(nlp.pipe([t.text for t in transcripts[:8]]))  # warm-up: first calls allocate

    batched_s, single_s, cached_s = [], [], []
    for _ in range(args.repeats):
        batched = MarkerExtractor(nlp=nlp, batch_size=args.batch_size, show_progress=False)
        seconds, frame_batched = _timed(lambda batched=batched: batched.transform(transcripts))
        batched_s.append(seconds)
        seconds, frame_cached = _timed(lambda batched=batched: batched.transform(transcripts))
        cached_s.append(seconds)
        assert batched.docs_processed == len({t.text for t in transcripts}), "cached pass re-ran spaCy"

        single = MarkerExtractor(nlp=nlp, show_progress=False)
        seconds, rows = _timed(lambda single=single: [single.transform_one(t) for t in transcripts])
        single_s.append(seconds)

    frame_single = pd.DataFrame(rows, index=frame_batched.index)[list(MARKERS)]
    same = bool(((frame_batched - frame_single).abs().to_numpy() < 1e-9).all())
    pd.testing.assert_frame_equal(frame_batched, frame_cached)

    result = {
        "benchmark": "markers",
        "corpus": source,
        "transcripts": n,
        "words": int(frame_batched["words"].sum()),
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "batched_per_s": n / min(batched_s),
        "one_at_a_time_per_s": n / min(single_s),
        "batched_over_one_at_a_time": min(single_s) / min(batched_s),
        "cached_per_s": n / min(cached_s),
        "batched_s": batched_s,
        "one_at_a_time_s": single_s,
        "cached_s": cached_s,
        "batched_equals_one_at_a_time": same,
        "spacy": spacy.__version__,
        "model": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}",
        "pipes": nlp.pipe_names,
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"markers: {n} transcripts ({source}); batched {result['batched_per_s']:.1f}/s, "
        f"one at a time {result['one_at_a_time_per_s']:.1f}/s (x{result['batched_over_one_at_a_time']:.2f}), "
        f"cached {result['cached_per_s']:.0f}/s -> {args.out}"
    )
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
