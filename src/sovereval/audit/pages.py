"""Byte ranges of a read-only memory map, read once in bounded chunks and dropped from the resident set.

Pages of a memory map that the process has touched count in its resident set until they are unmapped,
so a scan that only maps a 100 GB checkpoint would grow to 100 GB.  Here every chunk is given back with
``madvise(MADV_DONTNEED)`` as soon as it has been consumed: for a shared read-only file mapping this
only removes the page-table entries (the data stays in the page cache, and a later touch maps it
again), so it is always safe, even while another thread reads a neighbouring range.  The next chunk is
announced with ``posix_fadvise(WILLNEED)`` so that a cold file is read ahead while this one is hashed.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator

PAGE = mmap.PAGESIZE
CHUNK = 32 << 20  # bytes per chunk: bounds what one reader holds mapped at a time


def drop(mm: mmap.mmap, start: int, nbytes: int) -> None:
    """Remove ``[start, start + nbytes)`` of ``mm`` from the resident set (page-aligned outwards)."""
    if nbytes <= 0:
        return
    a = start - start % PAGE
    try:
        mm.madvise(mmap.MADV_DONTNEED, a, min(len(mm), start + nbytes) - a)
    except (ValueError, OSError):  # closed map or an unusual platform: only the accounting is affected
        pass


def prefetch(fd: int | None, start: int, nbytes: int) -> None:
    """Ask the kernel to start reading ``[start, start + nbytes)`` of the file now (asynchronous)."""
    if fd is None or nbytes <= 0 or not hasattr(os, "posix_fadvise"):
        return
    try:
        os.posix_fadvise(fd, start, nbytes, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass


def chunks(mm: mmap.mmap, start: int, nbytes: int, fd: int | None = None, chunk: int = CHUNK) -> Iterator[memoryview]:
    """Yield ``[start, start + nbytes)`` of ``mm`` as zero-copy views of at most ``chunk`` bytes.

    Each view is dropped from the resident set when the consumer asks for the next one (or stops); the
    consumer must not keep it."""
    end = start + nbytes
    view = memoryview(mm)
    try:
        prefetch(fd, start, min(chunk, nbytes))
        for a in range(start, end, chunk):
            b = min(a + chunk, end)
            prefetch(fd, b, min(chunk, end - b))
            piece = view[a:b]
            try:
                yield piece
            finally:
                del piece
                drop(mm, a, b - a)
    finally:
        del view
