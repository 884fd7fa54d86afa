"""Streaming GGUF reader: a bounds-checked header parser plus per-tensor dequantisation.

The header (metadata key/values and tensor infos) is parsed from a read-only memory map with every
count and length checked against the bytes that remain, so a fuzzed or truncated file fails fast with
a clear message instead of allocating gigabytes.  Tensor data are dequantised one tensor at a time
with :func:`gguf.quants.dequantize` (numpy implementations of Q4_0 … Q8_0 and the K-quants).

GGUF stores dimensions in ggml order (fastest-varying first); the numpy shape is the reverse.
"""

from __future__ import annotations

import math
import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import pages
from .errors import FormatError

GGUF_MAGIC = b"GGUF"
MAX_STRING = 64 * 1024 * 1024
MAX_DIMS = 8

_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4), 5: ("<i", 4),
    6: ("<f", 4), 7: ("<?", 1), 10: ("<Q", 8), 11: ("<q", 8), 12: ("<d", 8),
}  # fmt: skip
_NP_SCALARS: dict[int, str] = {0: "u1", 1: "i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4",
                               7: "u1", 10: "<u8", 11: "<i8", 12: "<f8"}  # fmt: skip
T_STRING, T_ARRAY = 8, 9


@dataclass(frozen=True)
class GgufTensor:
    name: str
    shape: tuple[int, ...]  # numpy order (rows, cols)
    qtype: int
    qname: str
    start: int  # absolute offset
    nbytes: int


class _Cursor:
    def __init__(self, buf: memoryview, path: Path) -> None:
        self.buf, self.pos, self.path, self.n = buf, 0, path, len(buf)

    def need(self, k: int, what: str) -> None:
        if k < 0 or self.pos + k > self.n:
            raise FormatError(
                f"{self.path}: truncated or corrupt GGUF header while reading {what} "
                f"(needs {k} bytes at offset {self.pos}, file has {self.n})"
            )

    def scalar(self, t: int, what: str) -> Any:
        fmt, k = _SCALARS[t]
        self.need(k, what)
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += k
        return v

    def u32(self, what: str) -> int:
        return int(self.scalar(4, what))

    def u64(self, what: str) -> int:
        return int(self.scalar(10, what))

    def string(self, what: str) -> str:
        k = self.u64(what + " length")
        if k > MAX_STRING:
            raise FormatError(f"{self.path}: implausible string length {k} in {what}")
        self.need(k, what)
        s = bytes(self.buf[self.pos : self.pos + k])
        self.pos += k
        return s.decode("utf-8", errors="replace")

    def value(self, t: int, what: str) -> Any:
        if t in _SCALARS:
            return self.scalar(t, what)
        if t == T_STRING:
            return self.string(what)
        if t == T_ARRAY:
            et = self.u32(what + " element type")
            count = self.u64(what + " element count")
            if et in _SCALARS:
                k = _SCALARS[et][1]
                self.need(count * k, what)
                arr = np.frombuffer(self.buf, dtype=_NP_SCALARS[et], count=count, offset=self.pos)
                self.pos += count * k
                return arr
            if et == T_STRING:
                if count * 8 > self.n - self.pos:
                    raise FormatError(f"{self.path}: array of {count} strings in {what} cannot fit the file")
                return [self.string(what) for _ in range(count)]
            raise FormatError(f"{self.path}: unsupported array element type {et} in {what}")
        raise FormatError(f"{self.path}: unknown GGUF value type {t} in {what}")


class GgufFile:
    """Metadata and tensor infos of one GGUF file; tensors dequantised on demand."""

    def __init__(self, path: Path) -> None:
        from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

        self.path = path
        try:
            fh = open(path, "rb")  # noqa: SIM115  (closed by the with-block below)
        except OSError as e:
            raise FormatError(f"{path}: cannot read: {e}") from e
        with fh:
            size = path.stat().st_size
            if size < 24:
                raise FormatError(f"{path}: truncated GGUF file ({size} bytes)")
            self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self._fd: int | None = None
        buf = memoryview(self._mm)
        if bytes(buf[:4]) != GGUF_MAGIC:
            raise FormatError(f"{path}: not a GGUF file (bad magic {bytes(buf[:4])!r})")
        c = _Cursor(buf, path)
        c.pos = 4
        self.version = c.u32("version")
        if self.version not in (2, 3):
            raise FormatError(f"{path}: unsupported GGUF version {self.version}")
        n_tensors, n_kv = c.u64("tensor count"), c.u64("metadata count")
        if n_tensors > size // 24 or n_kv > size // 12:
            raise FormatError(f"{path}: implausible counts ({n_tensors} tensors, {n_kv} keys) for {size} bytes")
        self.fields: dict[str, Any] = {}
        for i in range(n_kv):
            key = c.string(f"metadata key #{i}")
            t = c.u32(f"type of {key!r}")
            self.fields[key] = c.value(t, repr(key))
        infos = []
        for i in range(n_tensors):
            name = c.string(f"tensor name #{i}")
            nd = c.u32(f"dims of {name!r}")
            if nd == 0 or nd > MAX_DIMS:
                raise FormatError(f"{path}: tensor {name!r} has {nd} dimensions")
            dims = [c.u64(f"dim of {name!r}") for _ in range(nd)]
            qt = c.u32(f"type of {name!r}")
            off = c.u64(f"offset of {name!r}")
            infos.append((name, dims, qt, off))
        align = int(self.fields.get("general.alignment", 32))
        if align <= 0 or align & (align - 1):
            raise FormatError(f"{path}: invalid alignment {align}")
        data_start = (c.pos + align - 1) // align * align
        self.tensors: dict[str, GgufTensor] = {}
        for name, dims, qt, off in infos:
            try:
                qtype = GGMLQuantizationType(qt)
            except ValueError as e:
                raise FormatError(f"{path}: tensor {name!r} has unknown ggml type {qt}") from e
            block, tsize = GGML_QUANT_SIZES[qtype]
            n_el = math.prod(dims)
            if dims[0] % block:
                raise FormatError(f"{path}: tensor {name!r}: row of {dims[0]} is not a multiple of {block}")
            nbytes = n_el // block * tsize
            start = data_start + off
            if start + nbytes > size:
                raise FormatError(
                    f"{path}: tensor {name!r} data [{start}, {start + nbytes}) lies beyond the end of the "
                    f"file ({size} bytes); the file is truncated"
                )
            self.tensors[name] = GgufTensor(name, tuple(reversed(dims)), qt, qtype.name, start, nbytes)
        self._qtypes = GGMLQuantizationType

    def field(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def raw(self, name: str) -> memoryview:
        """Stored bytes of one tensor (a copy; the mapped pages are dropped again, see :mod:`.pages`)."""
        t = self.tensors[name]
        buf = np.empty(t.nbytes, dtype=np.uint8)
        buf[:] = np.frombuffer(self._mm, dtype=np.uint8, count=t.nbytes, offset=t.start)
        pages.drop(self._mm, t.start, t.nbytes)
        return memoryview(buf)

    def chunks(self, name: str) -> Iterator[memoryview]:
        """The stored bytes of one tensor as bounded zero-copy chunks, each dropped after use."""
        t = self.tensors[name]
        return pages.chunks(self._mm, t.start, t.nbytes, self._fd)

    def read(self, name: str) -> np.ndarray:
        """One tensor dequantised to float32, numpy (row-major) shape."""
        from gguf.quants import dequantize

        t = self.tensors[name]
        raw = np.frombuffer(self.raw(name), dtype=np.uint8)
        if t.qname == "F32":
            return raw.view("<f4").reshape(t.shape).copy()
        if t.qname == "F16":
            return raw.view("<f2").reshape(t.shape).astype(np.float32)
        if t.qname == "BF16":
            return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(t.shape)
        rows = math.prod(t.shape[:-1])
        out = dequantize(raw.reshape(rows, -1), self._qtypes(t.qtype))
        return np.asarray(out, dtype=np.float32).reshape(t.shape)

    def close(self) -> None:
        try:
            self._mm.close()
        except BufferError:
            pass
