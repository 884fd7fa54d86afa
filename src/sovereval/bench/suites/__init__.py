"""Benchmark declarations beyond the core catalogue, one module per family.

Each module defines ``DECLS: tuple[BenchmarkDecl, ...]`` and, by being imported, registers the scorers and
episodes its declarations name.  :mod:`sovereval.bench.catalog` imports every module here and adds its
declarations to ``CATALOG``; :func:`sovereval.bench.session.load_episodes` imports them too, so a
declaration naming an episode validates wherever it is built.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)
            if not m.name.startswith("_")]
