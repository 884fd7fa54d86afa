"""Open a checkpoint (safetensors file/dir/index, or GGUF) as canonical tensors, one at a time.

``open_checkpoint`` refuses pickles, parses headers, maps names to canonical roles, splits fused
tensors and records the transforms that bring every tensor to the canonical HF layout (undo GGUF's
Q/K row permutation for Llama-style models, subtract the ``+1`` llama.cpp bakes into Gemma-style norm
gains, transpose GPT-2 ``Conv1D``).  ``read(key)`` materialises exactly one tensor.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from . import pages
from .errors import CanonicalisationError, FormatError
from .gguf_reader import GgufFile
from .pickle_guard import refuse_if_pickle
from .roles import classify, is_norm, parse_key, unpermute_llama_gguf
from .st_reader import SafetensorsFiles
from .tokenizer import Tokenizer, from_gguf_fields, from_tokenizer_json

GGUF_QK_PERMUTED_ARCHS = frozenset({"llama", "mistral", "granite", "deci"})
PLUS_ONE_NORM_ARCHS = frozenset({"gemma", "gemma2", "gemma3", "gemma3n", "qwen3next"})
MAPPED_DTYPES = frozenset({"BF16", "F16", "F32"})  # stored dtypes the scan uses without conversion


@dataclass(frozen=True)
class ModelConfig:
    arch: str
    n_layers: int
    d_model: int
    n_heads: int = 0
    n_kv_heads: int = 0
    d_ff: int = 0
    vocab: int = 0
    norm_convention: str = "w"  # canonical gains are stored HF-style; "1+w" = the model multiplies by 1+w
    tied_embeddings: bool = False

    def signature(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TensorRef:
    key: str
    source: str
    shape: tuple[int, ...]  # canonical shape
    stored_dtype: str
    nbytes: int
    ops: tuple[tuple[Any, ...], ...] = ()  # ("rows", a, b) | ("unpermute", n) | ("add", c) | ("T",)

    @property
    def n_params(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class Checkpoint:
    path: Path
    format: str
    files: list[Path]
    config: ModelConfig
    tensors: dict[str, TensorRef]
    unknown: list[str]
    tokenizer: Tokenizer | None
    metadata: dict[str, Any] = field(default_factory=dict)
    _backend: Any = None

    def read(self, key: str) -> np.ndarray:
        ref = self.tensors[key]
        a = self._backend.read(ref.source)
        for op in ref.ops:
            if op[0] == "rows":
                a = a[op[1] : op[2]]
            elif op[0] == "unpermute":
                a = unpermute_llama_gguf(a, op[1])
            elif op[0] == "add":
                a = a + np.float32(op[1])
            elif op[0] == "T":
                a = a.T
        return np.ascontiguousarray(a, dtype=np.float32)

    def stored_is_canonical(self, key: str) -> bool:
        """True when the stored bytes are the canonical tensor as is (safetensors, no layout transform,
        BF16/F16/F32): the scan can then hash the bytes and :meth:`gather` rows without conversion."""
        ref = self.tensors[key]
        return self.format == "safetensors" and not ref.ops and ref.stored_dtype in MAPPED_DTYPES

    def gather(self, key: str, starts: np.ndarray, length: int) -> np.ndarray:
        """Runs of ``length`` stored elements at element offsets ``starts`` (see
        :meth:`SafetensorsFiles.gather`); only for :meth:`stored_is_canonical` tensors."""
        if not self.stored_is_canonical(key):
            raise ValueError(f"{key}: stored bytes need conversion; use read()")
        return self._backend.gather(self.tensors[key].source, starts, length)

    def chunks(self, key: str) -> Iterator[memoryview]:
        """The stored bytes of the tensor's source in bounded zero-copy chunks (dropped after use)."""
        return self._backend.chunks(self.tensors[key].source)

    def raw(self, key: str) -> memoryview:
        return self._backend.raw(self.tensors[key].source)

    def keys(self) -> list[str]:
        return list(self.tensors)

    def iter_tensors(self) -> Iterator[tuple[str, np.ndarray]]:
        for k in self.tensors:
            yield k, self.read(k)

    def file_sha256(self) -> dict[str, str]:
        """sha256 of every file (the reproducibility block's input hashes); shards two at a time."""
        with ThreadPoolExecutor(max_workers=max(1, min(2, len(self.files)))) as ex:
            digests = list(ex.map(sha256_file, self.files))
        return {f.name: d for f, d in zip(self.files, digests, strict=True)}

    @property
    def n_params(self) -> int:
        return sum(t.n_params for t in self.tensors.values())

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sha256_file(path: Path) -> str:
    """sha256 of a file, streamed from a read-only memory map in bounded chunks that are dropped from the
    resident set after use (no copy into a user buffer, no resident growth)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return h.hexdigest()
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            gen = pages.chunks(mm, 0, size, fh.fileno())
            try:
                for piece in gen:
                    h.update(piece)
                    del piece
            finally:
                gen.close()  # releases its view before the map closes
    return h.hexdigest()


def open_checkpoint(path: str | Path) -> Checkpoint:
    """Open ``path`` (GGUF file; safetensors file, index JSON or directory).  Pickles are refused."""
    p = Path(path)
    if not p.exists():
        raise FormatError(f"{p}: no such file or directory")
    if p.is_dir():
        for f in sorted(p.iterdir()):
            if f.is_file() and f.suffix in (".bin", ".pt", ".pth") and not list(p.glob("*.safetensors")):
                refuse_if_pickle(f)
        ggufs = sorted(p.glob("*.gguf"))
        if ggufs and not list(p.glob("*.safetensors")):
            return _open_gguf(ggufs[0])
        return _open_safetensors(p)
    refuse_if_pickle(p)
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic == b"GGUF":
        return _open_gguf(p)
    if p.suffix == ".gguf":
        raise FormatError(f"{p}: not a GGUF file (bad magic {magic!r})")
    return _open_safetensors(p)


def _resolve_post_attention(entries: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    has_pre_ff = any(k.endswith("norm.mlp_in") for k in entries)
    out = {}
    for k, v in entries.items():
        if k.endswith("norm.post_attention"):
            k = k.replace("norm.post_attention", "norm.attn_out" if has_pre_ff else "norm.mlp_in")
        out[k] = v
    return out


def _build_refs(
    names: dict[str, tuple[tuple[int, ...], str, int]],
    cfg_heads: tuple[int, int],
    fmt: str,
    arch: str,
    plus_one: bool,
) -> tuple[dict[str, TensorRef], list[str]]:
    n_head, n_kv = cfg_heads
    keyed: dict[str, tuple[str, str]] = {}
    unknown: list[str] = []
    for name in names:
        rn = classify(name)
        if rn is None:
            unknown.append(name)
            continue
        keyed[rn.key + ("^T" if rn.role.endswith("^T") else "")] = (name, rn.role)
    keyed = _resolve_post_attention(keyed)
    refs: dict[str, TensorRef] = {}
    for key, (name, _role) in keyed.items():
        shape, dt, nb = names[name]
        ops: list[tuple[Any, ...]] = []
        if key.endswith("^T"):
            key = key[:-2]
            ops.append(("T",))
            shape = tuple(reversed(shape))
        _, _layer, role = parse_key(key)
        if fmt == "gguf" and arch in GGUF_QK_PERMUTED_ARCHS and role in ("attn.q", "attn.k") and n_head:
            ops.append(("unpermute", n_head if role == "attn.q" else (n_kv or n_head)))
        if plus_one and is_norm(role):
            ops.append(("add", -1.0))
        if role in ("attn.qkv", "mlp.gate_up"):
            parts = _split_fused(key, shape, role, n_head, n_kv)
            for sub, a, b in parts:
                refs[sub] = TensorRef(sub, name, (b - a, *shape[1:]), dt, nb, (*ops, ("rows", a, b)))
            continue
        refs[key] = TensorRef(key, name, tuple(shape), dt, nb, tuple(ops))
    return refs, unknown


def _split_fused(key: str, shape: tuple[int, ...], role: str, n_head: int, n_kv: int) -> list[tuple[str, int, int]]:
    rows = shape[0]
    base = key[: -len(role)]
    if role == "mlp.gate_up":
        h = rows // 2
        return [(base + "mlp.gate", 0, h), (base + "mlp.up", h, rows)]
    if n_head and n_kv and n_kv != n_head:
        hd = rows // (n_head + 2 * n_kv)
        q, k = n_head * hd, n_kv * hd
    else:
        if rows % 3:
            raise CanonicalisationError(f"{key}: cannot split fused QKV of {rows} rows without head counts")
        q = k = rows // 3
    return [(base + "attn.q", 0, q), (base + "attn.k", q, q + k), (base + "attn.v", q + k, rows)]


def _open_gguf(path: Path) -> Checkpoint:
    g = GgufFile(path)
    f = g.fields
    arch = str(f.get("general.architecture", "unknown"))

    def num(k: str, default: int = 0) -> int:
        v = f.get(f"{arch}.{k}", default)
        try:
            return int(v if np.ndim(v) == 0 else np.max(v))
        except (TypeError, ValueError):
            return default

    names = {t.name: (t.shape, t.qname, t.nbytes) for t in g.tensors.values()}
    plus_one = arch in PLUS_ONE_NORM_ARCHS
    refs, unknown = _build_refs(names, (num("attention.head_count"), num("attention.head_count_kv")), "gguf",
                                arch, plus_one)  # fmt: skip
    emb = refs.get("text.embed")
    cfg = ModelConfig(
        arch=arch,
        n_layers=num("block_count"),
        d_model=num("embedding_length"),
        n_heads=num("attention.head_count"),
        n_kv_heads=num("attention.head_count_kv") or num("attention.head_count"),
        d_ff=num("feed_forward_length"),
        vocab=emb.shape[0] if emb else num("vocab_size"),
        norm_convention="1+w" if plus_one else "w",
        tied_embeddings="text.lm_head" not in refs,
    )
    meta = {k: v for k, v in f.items() if not k.startswith("tokenizer.ggml.") and isinstance(v, (str, int, float))}
    tok = from_gguf_fields(f, str(path))
    return Checkpoint(path, "gguf", [path], cfg, refs, unknown, tok, meta, g)


def _open_safetensors(path: Path) -> Checkpoint:
    st = SafetensorsFiles(path)
    root = path if path.is_dir() else path.parent
    conf: dict[str, Any] = {}
    cj = root / "config.json"
    if cj.is_file():
        try:
            conf = json.loads(cj.read_text())
            conf = {**conf.get("text_config", {}), **conf} if isinstance(conf, dict) else {}
        except (OSError, ValueError):
            conf = {}
    mt = str(conf.get("model_type", st.metadata.get("model_type", "unknown")))
    n_head = int(conf.get("num_attention_heads", 0) or 0)
    n_kv = int(conf.get("num_key_value_heads", n_head) or n_head)
    names = {e.name: (e.shape, e.dtype, e.nbytes) for e in st.entries.values()}
    refs, unknown = _build_refs(names, (n_head, n_kv), "safetensors", mt, False)
    layers = {parse_key(k)[1] for k in refs if k.startswith("text.L")}
    emb = refs.get("text.embed")
    cfg = ModelConfig(
        arch=mt,
        n_layers=int(conf.get("num_hidden_layers", (max(layers) + 1) if layers else 0)),
        d_model=int(conf.get("hidden_size", emb.shape[1] if emb else 0)),
        n_heads=n_head,
        n_kv_heads=n_kv,
        d_ff=int(conf.get("intermediate_size", 0) or 0),
        vocab=int(conf.get("vocab_size", emb.shape[0] if emb else 0)),
        norm_convention="1+w" if mt in PLUS_ONE_NORM_ARCHS else "w",
        tied_embeddings="text.lm_head" not in refs,
    )
    tok = None
    tj = root / "tokenizer.json"
    if tj.is_file():
        tok = from_tokenizer_json(tj)
    if not refs:
        raise CanonicalisationError(f"{path}: no tensor could be mapped to a canonical role; the audit abstains")
    return Checkpoint(path, "safetensors", st.files, cfg, refs, unknown, tok, dict(st.metadata), st)
