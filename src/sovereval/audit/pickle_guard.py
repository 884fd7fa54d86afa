"""Recognise PyTorch pickle checkpoints *without unpickling them* and refuse them.

Unpickling an untrusted checkpoint executes arbitrary code, so the audit never calls ``pickle`` or
``torch.load`` on its inputs.  Detection only looks at file names and the first bytes: a zip archive
holding ``*/data.pkl`` (the ``torch.save`` format since 1.6), or a raw pickle stream (protocol opcode
``0x80``), or the usual extensions.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .errors import PickleRefused

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
_ADVICE = (
    "PyTorch pickle checkpoints are refused: loading them runs arbitrary code. Convert the checkpoint "
    "to safetensors on a trusted, isolated machine (for example with transformers: "
    "`AutoModel.from_pretrained(path).save_pretrained(out, safe_serialization=True)`) or provide GGUF."
)


def looks_like_pickle(path: Path) -> bool:
    """True when ``path`` is a pickle stream or a ``torch.save`` zip archive (reads at most a few KiB)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    if head == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as z:
                return any(n.endswith(("data.pkl", ".pkl")) for n in z.namelist()[:10_000])
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
    return False


def refuse_if_pickle(path: Path) -> None:
    """Raise :class:`PickleRefused` for a pickle checkpoint (by content or by extension)."""
    if looks_like_pickle(path) or path.suffix.lower() in PICKLE_SUFFIXES:
        raise PickleRefused(f"{path}: {_ADVICE}")
