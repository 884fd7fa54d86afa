"""Compact fingerprints: enough of a checkpoint to run the battery without the checkpoint at hand.

A fingerprint holds, per canonical tensor: shape, parameter count, an exact hash of the stored bytes
and a hash of the canonical tensor rounded to bf16 (copies and dtype re-casts), and

* those two as XXH3-128 (what every byte of the scan goes through: faster than memory, so the scan runs
  at page-cache speed) and, in a reference fingerprint, also as BLAKE3.  XXH3 is not cryptographic: a
  crafted tensor could collide with a reference's.  So an XXH3 match is only a candidate; the battery
  confirms it with BLAKE3 of the suspect's tensor (read again, only for candidates) against the
  reference's BLAKE3, and only confirmed matches are evidence (:func:`sovereval.audit.battery.run_battery`);

* every norm-gain vector in full (they are tiny);
* a fixed sub-block (``N_ROWS`` rows × ``N_COLS`` columns, positions chosen deterministically from the
  shape only, so any two fingerprints of same-shaped tensors share positions) of every 2-D matrix;
* embedding (and untied LM-head) rows for up to ``N_TOKENS`` tokens keyed by *token string*, chosen by
  hashing the normalised strings (so two vocabularies select the same strings where they overlap);
* the tokenizer (tokens and merges) and the config signature.

Stored as one ``.npz`` (arrays + a JSON ``meta`` entry); its sha256 is the fingerprint's identity.  The
whole-file hashes of the checkpoint (the reproducibility block) stay SHA-256, the hash `sha256sum` and the
Hugging Face hub's LFS pointers show.  Version 1 fingerprints (per-tensor SHA-256) are refused: rebuild
them from the checkpoint (``sovereval audit fingerprint build``).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import blake3
import numpy as np
import xxhash

from .checkpoint import Checkpoint
from .errors import FormatError
from .roles import ANCHORED_ROLES, is_norm, parse_key
from .tokenizer import Tokenizer, normalise

FINGERPRINT_VERSION = "sovereval.audit.fingerprint/2"
TENSOR_HASH = "xxh3_128"  # every byte of the scan
CONFIRM_HASH = "blake3"  # references; the battery confirms a suspect's matches with it
N_ROWS = 64
N_COLS = 256
N_TOKENS = 2048
_HASH_CHUNK = 1 << 22  # elements per hashing chunk: bounds temporaries to ~16 MiB
HASH_THREADS = 2
SUMMARY_SAMPLE = 1 << 16  # elements in the summary sample of a tensor that has no sub-block


def subset(n: int, k: int, salt: str) -> np.ndarray:
    """Deterministic sorted subset of ``range(n)`` of size ``min(n, k)`` (depends on n, k, salt only)."""
    if n <= k:
        return np.arange(n)
    seed = int.from_bytes(hashlib.sha256(f"{salt}:{n}:{k}".encode()).digest()[:8], "little")
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


def block_rows_cols(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return subset(shape[0], N_ROWS, "rows"), subset(shape[1], N_COLS, "cols")


def _bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 (or float16) values rounded to bf16 (round-to-nearest-even), as uint16."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32)
    return ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)


def _hashers(strong: bool) -> dict[str, Any]:
    """The per-tensor hashes: XXH3-128 always (the scan's hash: memory speed), BLAKE3 too when ``strong``
    (references; a suspect's matching tensors are confirmed with it by the battery)."""
    out: dict[str, Any] = {"xxh3": xxhash.xxh3_128()}
    if strong:
        out["blake3"] = blake3.blake3()
    return out


def _bf16_digests(a: np.ndarray, strong: bool) -> dict[str, str]:
    hs = _hashers(strong)
    flat = np.ascontiguousarray(a, dtype=np.float32).reshape(-1)
    for s in range(0, flat.size, _HASH_CHUNK):
        chunk = _bf16_bits(flat[s : s + _HASH_CHUNK]).tobytes()
        for h in hs.values():
            h.update(chunk)
    return {f"bf16_{n}": h.hexdigest() for n, h in hs.items()}


def bf16_hash(a: np.ndarray, algo: str = "xxh3") -> str:
    """Hash (``xxh3`` or ``blake3``) of the tensor rounded to bf16 (round-to-nearest-even), in bounded
    chunks.  Shapes are compared separately; for a tensor stored as BF16 this equals the hash of its raw
    bytes."""
    return _bf16_digests(a, strong=algo == "blake3")[f"bf16_{algo}"]


def _hash_source(ckpt: Checkpoint, key: str, strong: bool) -> dict[str, str]:
    """Hashes of the stored bytes of ``key``'s source tensor, streamed from the memory map."""
    hs = _hashers(strong)
    for piece in ckpt.chunks(key):
        for h in hs.values():
            h.update(piece)
    return {f"raw_{n}": h.hexdigest() for n, h in hs.items()}


def _hash_stored(ckpt: Checkpoint, key: str, stored_dtype: str, strong: bool) -> dict[str, str]:
    """One pass over the stored bytes of an unconverted tensor: hashes of the bytes and of the bf16
    rounding — the same for BF16; for F32/F16 each chunk is rounded to bf16 as it goes by."""
    raw = _hashers(strong)
    b16 = None if stored_dtype == "BF16" else _hashers(strong)
    dt = "<f4" if stored_dtype == "F32" else "<f2"
    for piece in ckpt.chunks(key):
        for h in raw.values():
            h.update(piece)
        if b16 is not None:
            rounded = _bf16_bits(np.frombuffer(piece, dtype=dt)).tobytes()
            for h in b16.values():
                h.update(rounded)
    out = {f"raw_{n}": h.hexdigest() for n, h in raw.items()}
    out |= {f"bf16_{n}": (out[f"raw_{n}"] if b16 is None else b16[n].hexdigest()) for n in raw}
    return out


def strong_bf16(ckpt: Checkpoint, key: str) -> str:
    """BLAKE3 of ``key``'s canonical values rounded to bf16 (the battery's confirmation of a match)."""
    if ckpt.stored_is_canonical(key):
        return _hash_stored(ckpt, key, ckpt.tensors[key].stored_dtype, strong=True)["bf16_blake3"]
    return bf16_hash(ckpt.read(key), "blake3")


def _f32(a: np.ndarray) -> np.ndarray:
    """Stored values (BF16 as uint16, or float) to float32."""
    if a.dtype == np.uint16:
        return (a.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return np.asarray(a, dtype=np.float32)


def select_tokens(tok: Tokenizer | None, vocab: int, k: int = N_TOKENS) -> list[str]:
    """Token strings whose rows a fingerprint keeps: the ``k`` smallest by hash of the normalised string."""
    if tok is None:
        return [f"<id:{i}>" for i in subset(vocab, k, "tokens")]
    seen: dict[str, int] = {}
    for t in tok.tokens[:vocab]:
        n = normalise(t)
        if n not in seen and n.strip():
            seen[n] = int.from_bytes(hashlib.sha1(n.encode("utf-8", "surrogatepass")).digest()[:8], "little")
    return sorted(seen, key=seen.__getitem__)[:k]


def token_ids(tok: Tokenizer | None, strings: Iterable[str], vocab: int) -> dict[str, int]:
    """Map normalised token strings to row ids of a model (first occurrence; ``<id:N>`` is an id)."""
    out: dict[str, int] = {}
    if tok is None:
        for s in strings:
            if s.startswith("<id:"):
                i = int(s[4:-1])
                if i < vocab:
                    out[s] = i
        return out
    index: dict[str, int] = {}
    for i, t in enumerate(tok.tokens[:vocab]):
        index.setdefault(normalise(t), i)
    for s in strings:
        if s in index:
            out[s] = index[s]
    return out


@dataclass
class Fingerprint:
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @property
    def name(self) -> str:
        return str(self.meta.get("name", ""))

    @property
    def tensors(self) -> dict[str, dict[str, Any]]:
        return self.meta["tensors"]

    @property
    def config(self) -> dict[str, Any]:
        return self.meta["config"]

    @property
    def tokenizer(self) -> Tokenizer | None:
        t = self.meta.get("tokenizer")
        return Tokenizer.from_json(t) if t else None

    def save(self, path: Path) -> str:
        """Write the ``.npz`` and return its sha256."""
        buf = io.BytesIO()
        meta = np.frombuffer(json.dumps(self.meta, sort_keys=True).encode(), dtype=np.uint8)
        np.savez_compressed(buf, __meta__=meta, **{k.replace("/", "|"): v for k, v in self.arrays.items()})
        data = buf.getvalue()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def load(cls, path: Path) -> Fingerprint:
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(bytes(z["__meta__"]).decode())
                arrays = {k.replace("|", "/"): z[k] for k in z.files if k != "__meta__"}
        except (OSError, ValueError, KeyError) as e:
            raise FormatError(f"{path}: not a readable fingerprint ({e.__class__.__name__}: {e})") from e
        if meta.get("version") != FINGERPRINT_VERSION:
            raise FormatError(f"{path}: fingerprint version {meta.get('version')!r}, expected {FINGERPRINT_VERSION} "
                              f"(hashes of another format cannot be compared): rebuild it from its checkpoint with "
                              f"`sovereval audit fingerprint build CHECKPOINT --name NAME --registry DIR`")
        return cls(meta, arrays)


class _InMemory:
    """A tensor already in memory (float32 after dequantisation / transform)."""

    def __init__(self, a: np.ndarray) -> None:
        self.a = a
        self.shape: tuple[int, ...] = tuple(a.shape)

    def rows(self, idx: np.ndarray) -> np.ndarray:
        if self.a.size == 0:
            return np.zeros((len(idx), self.shape[-1] if self.shape else 0), dtype=self.a.dtype)
        return self.a.reshape(-1, self.shape[-1])[idx]

    def sample(self, k: int) -> np.ndarray:
        flat = self.a.reshape(-1)
        return flat[:: max(1, flat.size // k)]


class _Stored:
    """A tensor whose stored bytes are its canonical values: rows are copied from the file on demand
    (positioned reads; nothing else of the tensor is touched)."""

    RUN = 1024  # elements per run of the summary sample of a large tensor without rows to sample

    def __init__(self, ckpt: Checkpoint, key: str) -> None:
        self.ckpt, self.key = ckpt, key
        self.shape = tuple(ckpt.tensors[key].shape)

    def rows(self, idx: np.ndarray) -> np.ndarray:
        n = self.shape[-1] if self.shape else 1
        return self.ckpt.gather(self.key, np.asarray(idx, dtype=np.int64) * n, n)

    def sample(self, k: int) -> np.ndarray:
        size = int(np.prod(self.shape))
        if size <= 16 * k:  # small: the whole tensor, every step-th element as for an in-memory one
            return self.ckpt.gather(self.key, np.zeros(1, np.int64), size).reshape(-1)[:: max(1, size // k)]
        starts = np.linspace(0, size - self.RUN, max(1, k // self.RUN)).astype(np.int64)
        return self.ckpt.gather(self.key, starts, self.RUN).reshape(-1)


def _extract(key: str, role: str, t: _InMemory | _Stored, ids: dict[str, int], kept_tokens: list[str],
             info: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:  # fmt: skip
    """The kept parts of one tensor (stored dtype or float32): norm vector, token rows, sub-block, and a
    summary (mean, sd) of a sample — the sub-block for matrices, the vector for vectors."""
    shape = t.shape
    size = int(np.prod(shape))
    sample: np.ndarray | None = None
    if len(shape) == 1 and (is_norm(role) or size <= 8192):
        sample = arrays[f"vec/{key}"] = _f32(t.rows(np.zeros(1, np.int64)).reshape(-1)).copy()
    if role in ("embed", "lm_head") and len(shape) == 2:
        rows = np.array([ids[s] for s in kept_tokens], dtype=np.int64)
        arrays[f"rows/{key}"] = _f32(t.rows(rows)).astype(np.float16)
    if size and ((len(shape) == 2 and min(shape) > 1) or len(shape) > 2):  # > 2: stacked experts, flattened
        r, c = block_rows_cols((size // shape[-1], shape[-1]))
        sample = _f32(t.rows(r)[:, c])
        arrays[f"blk/{key}"] = sample.astype(np.float16)
        if len(shape) == 2:
            info["anchored"] = role in ANCHORED_ROLES
    if sample is None:
        sample = _f32(t.sample(SUMMARY_SAMPLE)) if size else np.zeros(0, np.float32)
    s64 = sample.astype(np.float64)
    info["mean"] = float(s64.mean()) if s64.size else 0.0
    info["std"] = float(s64.std()) if s64.size else 0.0


def _scan_stored(ckpt: Checkpoint, key: str, role: str, stored_dtype: str, ids: dict[str, int],
                 kept_tokens: list[str], strong: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:  # fmt: skip
    """One scan job: hash the stored bytes, then extract the kept parts (see :func:`build_fingerprint`)."""
    info: dict[str, Any] = dict(_hash_stored(ckpt, key, stored_dtype, strong))
    local: dict[str, np.ndarray] = {}
    _extract(key, role, _Stored(ckpt, key), ids, kept_tokens, info, local)
    return info, local


def _scan(ckpt: Checkpoint, ids: dict[str, int], kept_tokens: list[str], transform: Any,
          strong: bool) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:  # fmt: skip
    """Every tensor once: per-tensor info (shape, hashes, summary) and the kept arrays."""
    tensors: dict[str, dict[str, Any]] = {}
    arrays: dict[str, np.ndarray] = {}
    # The measured scan.  A tensor whose stored bytes are its values (safetensors BF16/F16/F32) is one
    # job for a pool of two threads: stream its bytes once through XXH3 (and BLAKE3 for a reference) from
    # the memory map in bounded chunks, each dropped from the resident set after use, then copy the few
    # rows it keeps with positioned reads (just read, so from the page cache).  Nothing is converted to
    # float except what is kept.  Other tensors (GGUF, fused, transformed) are materialised one at a time
    # in float32 here and hashed in the pool.  Results are merged in tensor order (deterministic file).
    parts: list[tuple[str, dict[str, Any], str, list[Future[Any]], dict[str, np.ndarray]]] = []
    pending: deque[Future[Any]] = deque()
    with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:  # leaving the block waits for the jobs
        for key, ref in ckpt.tensors.items():
            _, _, role = parse_key(key)
            info: dict[str, Any] = {"shape": list(ref.shape), "n_params": ref.n_params,
                                    "stored_dtype": ref.stored_dtype}  # fmt: skip
            tag = ":" + ref.stored_dtype + ":" + str(ref.ops)
            local: dict[str, np.ndarray] = {}
            if transform is None and ckpt.stored_is_canonical(key):
                futs = [pool.submit(_scan_stored, ckpt, key, role, ref.stored_dtype, ids, kept_tokens, strong)]
            else:
                a = ckpt.read(key)
                if transform is not None:
                    a = transform(key, a)
                info["shape"] = list(a.shape)
                futs = [pool.submit(_hash_source, ckpt, key, strong), pool.submit(_bf16_digests, a, strong)]
                _extract(key, role, _InMemory(a), ids, kept_tokens, info, local)
                del a
            parts.append((key, info, tag, futs, local))
            pending.extend(futs)
            while len(pending) > HASH_THREADS + 1:  # stay close to the jobs (bounds fp32 copies in flight)
                pending.popleft().result()
    for key, info, tag, futs, local in parts:
        if len(futs) == 1:
            extra, local = futs[0].result()
            info.update(extra)
        else:
            info.update(futs[0].result())
            info.update(futs[1].result())
        for k in [k for k in info if k.startswith("raw_")]:
            info[k] += tag
        tensors[key] = info
        arrays.update(local)
    return tensors, arrays


def build_fingerprint(
    ckpt: Checkpoint,
    name: str,
    *,
    extra_tokens: Iterable[str] = (),
    source_hashes: bool = True,
    confirm_hashes: bool = True,
    transform: Any = None,
) -> Fingerprint:
    """Stream ``ckpt`` once and keep its fingerprint.

    ``extra_tokens``: token strings whose embedding rows to keep besides the model's own selection (the
    suspect side keeps the rows its references selected).  ``transform(key, array) -> array`` is applied
    to every tensor before extraction (used to undo a residual rotation).  ``confirm_hashes``: also
    BLAKE3 per tensor (references; a suspect pass leaves it out and the battery confirms its matches from
    the checkpoint).
    """
    cfg = ckpt.config
    tok = ckpt.tokenizer
    emb_vocab = ckpt.tensors["text.embed"].shape[0] if "text.embed" in ckpt.tensors else cfg.vocab
    own = select_tokens(tok, emb_vocab)
    wanted = list(dict.fromkeys([*own, *extra_tokens]))
    ids = token_ids(tok, wanted, emb_vocab)
    kept_tokens = [s for s in wanted if s in ids]
    # the whole-file sha256 (reproducibility block) runs beside the scan rather than after it
    files_pool = ThreadPoolExecutor(max_workers=1) if source_hashes else None
    files_fut = files_pool.submit(ckpt.file_sha256) if files_pool is not None else None
    try:
        tensors, arrays = _scan(ckpt, ids, kept_tokens, transform, confirm_hashes)
        source_files = files_fut.result() if files_fut is not None else {}
    finally:
        if files_pool is not None:
            files_pool.shutdown(wait=True)
    meta: dict[str, Any] = {
        "version": FINGERPRINT_VERSION,
        "name": name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "format": ckpt.format,
        "config": cfg.signature(),
        "n_params": ckpt.n_params,
        "tensors": tensors,
        "unknown_tensors": ckpt.unknown,
        "embed_tokens": kept_tokens,
        "tokenizer": tok.to_json() if tok else None,
        "tokenizer_sha256": tok.sha256 if tok else None,
        "source_files": source_files,
        "params": {"n_rows": N_ROWS, "n_cols": N_COLS, "n_tokens": N_TOKENS, "tensor_hash": TENSOR_HASH,
                   "confirm_hash": CONFIRM_HASH if confirm_hashes else None},
    }
    return Fingerprint(meta, arrays)
