"""mlseg — a Jupyter course on image segmentation, and the small library behind it.

Submodules are imported on first use (``mlseg.metrics``, ``mlseg.checks``, ...), so
``import mlseg`` stays fast: torch and scikit-learn load only in the modules that need them.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("metrics", "checks", "exercises", "grading", "phantoms", "imaging", "io",
               "plotting", "widgets")

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'mlseg' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
