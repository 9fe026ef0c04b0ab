"""The offline environment for the whole suite, set before any test module imports the libraries that read it.

huggingface_hub, transformers and datasets read these once, at import: a test module that set them itself had to do so
above its own imports. Everything the tests load comes from local folders (`cookiebench models prepare`).
"""

import os

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")
