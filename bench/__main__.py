"""Runs every benchmark (`bench/bench_*.py`, each with a `main()`); each writes bench-results/<name>.json.

python -m bench                 # all
python -m bench markers detect  # some
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))
    chosen = argv or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {names}", file=sys.stderr)
        return 2
    Path("bench-results").mkdir(exist_ok=True)
    failed = []
    for name in chosen:
        print(f"== bench {name}", flush=True)
        start = time.perf_counter()
        try:
            importlib.import_module(f"bench.bench_{name}").main()
        except Exception as error:  # one broken benchmark must not hide the others' results
            print(f"!! bench {name} failed: {error!r}", file=sys.stderr)
            failed.append(name)
        print(f"== bench {name}: {time.perf_counter() - start:.1f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
