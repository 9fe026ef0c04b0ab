"""The offline environment for the whole suite, set before any test module imports the libraries that read it.

huggingface_hub, transformers and datasets read these once, at import: a test module that set them itself had to do so
above its own imports. Everything the tests load comes from local folders (`cookiebench models prepare`).
"""

import os
from pathlib import Path

_TESTS = Path(__file__).parent / "tests"

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """--doctest-modules imports every module it is given; the tests' helper modules hold no doctests, and one
    (tests/augment/family.py) starts processes on import. They are imported by the tests that use them."""
    if collection_path.suffix != ".py" or collection_path.name in ("__init__.py", "conftest.py"):
        return None
    if _TESTS in collection_path.parents and not collection_path.name.startswith("test_"):
        return True
    return None
