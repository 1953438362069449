"""mlseg — a Jupyter course on image segmentation, and the small library behind it.

One submodule per concept: ``phantoms`` and ``imaging`` (chapter 01), ``metrics`` (02),
``thresholding``, ``region_growing``, ``atlas`` and ``forests`` (03), ``digits``, ``models``,
``training`` and ``inference`` (04–05), plus ``io``, ``plotting``, ``widgets``, and the course
machinery ``checks``, ``exercises`` and ``grading``.

``import mlseg`` imports none of them: each is imported the first time it is used
(``mlseg.metrics.dice(...)``), so ``import mlseg`` is instant and loads neither numpy nor
torch, scikit-learn, pandas or matplotlib. Those heavy libraries are imported only by the
submodules (most of them inside the functions) that need them.
"""

from __future__ import annotations

import importlib
import importlib.util

__version__ = "0.1.0"  # the one place: pyproject.toml reads it from here

#: Every submodule, in course order (a test checks that every module file in mlseg/ is listed).
#: Modules of later chapters appear here before their files exist; until then they are simply
#: absent (``AttributeError``, not in ``dir(mlseg)``).
_SUBMODULES = (
    "phantoms", "imaging", "metrics", "thresholding", "region_growing", "atlas", "forests",
    "digits", "models", "training", "inference",
    "io", "plotting", "widgets", "checks", "exercises", "grading", "data",
)


def _exists(name):
    return importlib.util.find_spec(f"{__name__}.{name}") is not None


_AVAILABLE = tuple(name for name in _SUBMODULES if _exists(name))

__all__ = ["__version__", *_AVAILABLE]


def __getattr__(name):
    if name in _AVAILABLE:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _SUBMODULES:
        raise AttributeError(f"module 'mlseg' has no attribute {name!r} (mlseg.{name} belongs to "
                             "a chapter that is not written yet)")
    raise AttributeError(f"module 'mlseg' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
