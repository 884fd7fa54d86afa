"""Where benchmark data lives, and the errors of reading it.

Kept apart from :mod:`sovereval.bench.data` (the loader, which resolves adapter and generator names in the
catalog) so that the modules the catalog lists — suites, generators, adapters, judge and agent data — can
locate and verify their files without importing the loader.
"""

from __future__ import annotations

import os
from pathlib import Path

from sovereval.errors import SovereValError

DATA_ROOT_ENV = "SOVEREVAL_BENCH_DATA"


class DataError(SovereValError, ValueError):
    """A data problem, located: ``file:line: field 'x': message``."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.file, self.line, self.field = file, line, field
        where = file or ""
        if line is not None:
            where += f":{line}"
        prefix = f"{where}: " if where else ""
        if field is not None:
            prefix += f"field {field!r}: "
        super().__init__(prefix + message)

    def __str__(self) -> str:  # located above in this module's own words; SovereValError must not add its own
        return Exception.__str__(self)


class ChecksumError(DataError):
    """The file's sha256 is not the one the declaration pins."""


def find_data_root(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """``explicit``, else ``$SOVEREVAL_BENCH_DATA``, else ``../shared/benchmarks`` from the working directory."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(DATA_ROOT_ENV)
    if env:
        return Path(env)
    guess = Path.cwd().parent / "shared" / "benchmarks"
    return guess if guess.is_dir() else None
