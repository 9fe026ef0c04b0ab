"""Content digests: the one way cookiebench names things by what they hold.

Caches (adapters, marker features), record ids, group keys and config digests all key
on :func:`digest`, so the same content gives the same name in any process, on any
machine, in any Python version (no ``hash()``, whose value changes per process).

>>> digest({"b": 1, "a": [1, 2]}, 12) == digest({"a": [1, 2], "b": 1}, 12)
True
>>> digest("abc", 8)
'ba7816bf'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def canonical_json(payload: Any) -> str:
    """JSON with sorted keys; values JSON cannot hold (paths, enums) are written with ``str``."""
    return json.dumps(payload, sort_keys=True, default=str)


def digest(payload: str | bytes | Any, length: int | None = 16) -> str:
    """sha256 hex of ``payload``, cut to ``length`` characters (``None``: all 64).

    Bytes are hashed as they are, text as UTF-8, anything else as :func:`canonical_json`.
    """
    if isinstance(payload, str):
        data = payload.encode()
    elif isinstance(payload, bytes):
        data = payload
    else:
        data = canonical_json(payload).encode()
    return hashlib.sha256(data).hexdigest()[:length]


def file_digest(paths: Iterable[str | Path], length: int | None = None, *, with_names: bool = False) -> str:
    """sha256 hex of the files' bytes, in the order given (read in 1 MiB blocks).

    ``with_names``: each file's name goes in before its bytes, so renaming a file changes it.
    """
    h = hashlib.sha256()
    for path in map(Path, paths):
        if with_names:
            h.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:length]


def int_hash(obj: object) -> int:
    """A 64-bit integer hash of ``repr(obj)`` (blake2b: fast, stable across processes), for sketches and sets."""
    return int.from_bytes(hashlib.blake2b(repr(obj).encode(), digest_size=8).digest(), "big")
