"""Streaming safetensors reader (single file or sharded with ``*.index.json``), memory-mapped.

The header is parsed by hand with strict bounds so that malformed or truncated files fail fast with a
clear message and bounded memory: the 8-byte header length is checked against the file size and a hard
cap before anything is allocated, every tensor's byte range must lie inside the file and match its
dtype and shape, and tensor data is only ever touched one tensor at a time: :meth:`read` copies one
tensor with a positioned read; the scan streams every byte through :meth:`chunks` (zero-copy, bounded
chunks of the read-only memory map, each dropped from the resident set after use) and copies the few
rows it keeps with :meth:`gather`.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import pages
from .errors import FormatError

MAX_HEADER_BYTES = 100 * 1024 * 1024

# safetensors dtype -> (numpy dtype of the stored element, bytes per element)
DTYPES: dict[str, tuple[str, int]] = {
    "F64": ("<f8", 8),
    "F32": ("<f4", 4),
    "F16": ("<f2", 2),
    "BF16": ("<u2", 2),
    "I64": ("<i8", 8),
    "I32": ("<i4", 4),
    "I16": ("<i2", 2),
    "I8": ("i1", 1),
    "U8": ("u1", 1),
    "BOOL": ("u1", 1),
}


@dataclass(frozen=True)
class StEntry:
    """One tensor of a safetensors file: where its bytes are and how to read them."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    file: Path
    start: int  # absolute byte offset in the file
    nbytes: int


def parse_header(path: Path) -> tuple[dict[str, str], list[StEntry]]:
    """Parse and validate the header of one safetensors file."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            raw_len = f.read(8)
            if len(raw_len) < 8:
                raise FormatError(f"{path}: truncated safetensors file ({size} bytes, no header length)")
            (n,) = struct.unpack("<Q", raw_len)
            if n == 0 or n > MAX_HEADER_BYTES or n > size - 8:
                raise FormatError(
                    f"{path}: invalid safetensors header length {n} (file has {size} bytes); "
                    "the file is truncated or not safetensors"
                )
            raw = f.read(n)
    except OSError as e:
        raise FormatError(f"{path}: cannot read: {e}") from e
    try:
        header = json.loads(raw.decode("utf-8").rstrip(" \x00"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: safetensors header is not valid JSON ({e.__class__.__name__})") from e
    if not isinstance(header, dict):
        raise FormatError(f"{path}: safetensors header must be a JSON object")
    data_start = 8 + n
    data_len = size - data_start
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise FormatError(f"{path}: __metadata__ must be an object")
    entries: list[StEntry] = []
    for name, spec in header.items():
        if not isinstance(spec, dict):
            raise FormatError(f"{path}: tensor {name!r}: entry must be an object")
        dtype, shape, offs = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
        if dtype not in DTYPES:
            raise FormatError(f"{path}: tensor {name!r}: unsupported dtype {dtype!r}")
        if not (isinstance(shape, list) and len(shape) <= 8 and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise FormatError(f"{path}: tensor {name!r}: invalid shape {shape!r}")
        if not (isinstance(offs, list) and len(offs) == 2 and all(isinstance(o, int) for o in offs)):
            raise FormatError(f"{path}: tensor {name!r}: invalid data_offsets {offs!r}")
        b, e = offs
        need = math.prod(shape) * DTYPES[dtype][1]
        if not (0 <= b <= e <= data_len) or e - b != need:
            raise FormatError(
                f"{path}: tensor {name!r}: byte range [{b}, {e}) does not fit the file "
                f"({data_len} data bytes) or its shape {shape} x {dtype} ({need} bytes); truncated file?"
            )
        entries.append(StEntry(name, dtype, tuple(shape), path, data_start + b, e - b))
    return {str(k): str(v) for k, v in meta.items()}, entries


def resolve_files(path: Path) -> list[Path]:
    """The safetensors files of a checkpoint given as a file, an index JSON, or a directory."""
    if path.is_dir():
        idx = sorted(path.glob("*.safetensors.index.json"))
        if idx:
            return resolve_files(idx[0])
        files = sorted(path.glob("*.safetensors"))
        if not files:
            raise FormatError(f"{path}: no *.safetensors file in this directory")
        return files
    if path.name.endswith(".index.json"):
        try:
            index = json.loads(path.read_text())
            wm = index["weight_map"]
            names = sorted(set(wm.values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise FormatError(f"{path}: invalid safetensors index JSON ({e.__class__.__name__}: {e})") from e
        files = [path.parent / n for n in names]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FormatError(f"{path}: index names shard files that are missing: {', '.join(missing[:5])}")
        return files
    return [path]


class SafetensorsFiles:
    """All tensors of one (possibly sharded) safetensors checkpoint, read lazily via mmap."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files = resolve_files(path)
        self.metadata: dict[str, str] = {}
        self.entries: dict[str, StEntry] = {}
        for f in self.files:
            meta, entries = parse_header(f)
            self.metadata.update(meta)
            for e in entries:
                if e.name in self.entries:
                    raise FormatError(f"{f}: tensor {e.name!r} appears in two shards")
                self.entries[e.name] = e
        self._maps: dict[Path, mmap.mmap] = {}
        self._fds: dict[Path, int] = {}
        self._lock = threading.Lock()  # the scan opens maps and descriptors from two threads

    def _map(self, file: Path) -> mmap.mmap:
        with self._lock:
            m = self._maps.get(file)
            if m is None:
                with open(file, "rb") as fh:
                    m = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                self._maps[file] = m
            return m

    def raw(self, name: str) -> memoryview:
        """The stored bytes of one tensor, read with one positioned read into a fresh buffer.

        (Reading rather than memory-mapping keeps the resident set bounded by the tensor in hand: the
        pages of a memory map stay accounted to the process after they have been touched.)"""
        e = self.entries[name]
        buf = np.empty(e.nbytes, dtype=np.uint8)
        self._pread(e, memoryview(buf), e.start)
        return memoryview(buf)

    def _pread(self, e: StEntry, view: memoryview, offset: int) -> None:
        fd = self._fd(e.file)
        got = 0
        while got < len(view):
            n = os.preadv(fd, [view[got:]], offset + got)
            if n <= 0:
                raise FormatError(f"{e.file}: unexpected end of file in tensor {e.name!r}")
            got += n

    def gather(self, name: str, starts: np.ndarray, length: int) -> np.ndarray:
        """Runs of ``length`` elements starting at the element offsets ``starts``, in the stored dtype
        (BF16 as uint16), shape ``(len(starts), length)``: one positioned read per run, so only the
        bytes asked for are copied (rows of a huge embedding without touching the rest of it)."""
        e = self.entries[name]
        np_dtype, size = DTYPES[e.dtype]
        n_el = e.nbytes // size
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        if starts.size and (starts.min() < 0 or starts.max() + length > n_el):
            raise IndexError(f"{name}: runs of {length} at {starts.min()}..{starts.max()} exceed {n_el} elements")
        out = np.empty((starts.size, length), dtype=np_dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        rb = length * size
        for j, st in enumerate(starts.tolist()):
            self._pread(e, view[j * rb : (j + 1) * rb], e.start + st * size)
        return out

    def chunks(self, name: str) -> Iterator[memoryview]:
        """The stored bytes of one tensor as bounded zero-copy chunks, each dropped after use."""
        e = self.entries[name]
        return pages.chunks(self._map(e.file), e.start, e.nbytes, self._fd(e.file))

    def _fd(self, file: Path) -> int:
        with self._lock:
            fd = self._fds.get(file)
            if fd is None:
                fd = os.open(file, os.O_RDONLY)
                self._fds[file] = fd
            return fd

    def read(self, name: str) -> np.ndarray:
        """One tensor as float32 in its stored (row-major) shape."""
        e = self.entries[name]
        np_dtype, _ = DTYPES[e.dtype]
        a = np.frombuffer(self.raw(name), dtype=np_dtype).reshape(e.shape)
        if e.dtype == "BF16":
            return (a.astype(np.uint32) << 16).view(np.float32)
        return a.astype(np.float32)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        for m in self._maps.values():
            try:
                m.close()
            except BufferError:  # a caller still holds a view; the map goes with it
                pass
        self._maps.clear()
