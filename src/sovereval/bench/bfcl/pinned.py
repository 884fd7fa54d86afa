"""Auxiliary files an episode reads besides its items (BFCL answers, τ² databases and policies).

A declaration names each one as ``(path relative to the data root, sha256)`` in its scorer parameters, so
the file is part of the declaration's version; the bytes are checked against the hash before anything is
parsed and cached per process (the τ² airline database is 7 MB).  The data root is the episode context's
``data_root`` when the runner provides one, else :func:`sovereval.bench.dataroot.find_data_root`
(``$SOVEREVAL_BENCH_DATA`` or ``../shared/benchmarks``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from sovereval.bench.dataroot import ChecksumError, DataError, find_data_root
from sovereval.program.spec import Frozen


class PinnedFile(Frozen):
    path: str = Field(min_length=1)
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], Any] = {}


def data_root_of(ctx: object) -> Path:
    root = getattr(ctx, "data_root", None)
    found = Path(root) if root is not None else find_data_root()
    if found is None:
        raise DataError("needs the benchmark data root: set $SOVEREVAL_BENCH_DATA or run from beside shared/")
    return found


def read_pinned(ref: PinnedFile, root: Path) -> bytes:
    path = root / ref.path
    if not path.is_file():
        raise DataError(f"file not found under the data root {root}", file=ref.path)
    raw = path.read_bytes()
    actual = hashlib.sha256(raw).hexdigest()
    if actual != ref.sha256:
        raise ChecksumError(f"sha256 mismatch: expected {ref.sha256}, found {actual} ({path}); the file is not the "
                            f"pinned copy", file=ref.path)
    return raw


def load_json(ref: PinnedFile, root: Path, *, lines: bool = False) -> Any:
    """The parsed file (one JSON document, or a list of JSON lines), cached by path and hash; callers must
    not modify what they get (copy first)."""
    key = (str((root / ref.path).resolve()), ref.sha256 + (":lines" if lines else ""))
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    text = read_pinned(ref, root).decode("utf-8")
    try:
        value = [json.loads(x) for x in text.split("\n") if x.strip()] if lines else json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"malformed JSON: {e}", file=ref.path) from e
    with _LOCK:
        _CACHE[key] = value
    return value


def load_text(ref: PinnedFile, root: Path) -> str:
    key = (str((root / ref.path).resolve()), ref.sha256 + ":text")
    with _LOCK:
        if key in _CACHE:
            return str(_CACHE[key])
    text = read_pinned(ref, root).decode("utf-8")
    with _LOCK:
        _CACHE[key] = text
    return text
