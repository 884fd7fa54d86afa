"""Compact fingerprints: enough of a checkpoint to run the battery without the checkpoint at hand.

A fingerprint holds, per canonical tensor: shape, parameter count, an exact hash of the stored bytes
and a hash of the canonical tensor rounded to bf16 (copies and dtype re-casts), and

* every norm-gain vector in full (they are tiny);
* a fixed sub-block (``N_ROWS`` rows × ``N_COLS`` columns, positions chosen deterministically from the
  shape only, so any two fingerprints of same-shaped tensors share positions) of every 2-D matrix;
* embedding (and untied LM-head) rows for up to ``N_TOKENS`` tokens keyed by *token string*, chosen by
  hashing the normalised strings (so two vocabularies select the same strings where they overlap);
* the tokenizer (tokens and merges) and the config signature.

Stored as one ``.npz`` (arrays + a JSON ``meta`` entry); its sha256 is the fingerprint's identity.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import Checkpoint
from .errors import FormatError
from .roles import ANCHORED_ROLES, is_norm, parse_key
from .tokenizer import Tokenizer, normalise

FINGERPRINT_VERSION = "sovereval.audit.fingerprint/1"
N_ROWS = 64
N_COLS = 256
N_TOKENS = 2048
_HASH_CHUNK = 1 << 22  # elements per hashing chunk: bounds temporaries to ~16 MiB


def subset(n: int, k: int, salt: str) -> np.ndarray:
    """Deterministic sorted subset of ``range(n)`` of size ``min(n, k)`` (depends on n, k, salt only)."""
    if n <= k:
        return np.arange(n)
    seed = int.from_bytes(hashlib.sha256(f"{salt}:{n}:{k}".encode()).digest()[:8], "little")
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


def block_rows_cols(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return subset(shape[0], N_ROWS, "rows"), subset(shape[1], N_COLS, "cols")


def bf16_hash(a: np.ndarray) -> str:
    """sha256 of the tensor rounded to bf16 (round-to-nearest-even), in bounded chunks.

    Shapes are compared separately; for a tensor stored as BF16 this equals the sha256 of its raw bytes."""
    h = hashlib.sha256()
    flat = np.ascontiguousarray(a, dtype=np.float32).reshape(-1)
    for s in range(0, flat.size, _HASH_CHUNK):
        u = flat[s : s + _HASH_CHUNK].view(np.uint32)
        r = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)
        h.update(r.tobytes())
    return h.hexdigest()


def _sha(b: memoryview) -> str:
    return hashlib.sha256(b).hexdigest()


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
            raise FormatError(f"{path}: fingerprint version {meta.get('version')!r}, expected {FINGERPRINT_VERSION}")
        return cls(meta, arrays)


def build_fingerprint(
    ckpt: Checkpoint,
    name: str,
    *,
    extra_tokens: Iterable[str] = (),
    source_hashes: bool = True,
    transform: Any = None,
) -> Fingerprint:
    """Stream ``ckpt`` once and keep its fingerprint.

    ``extra_tokens``: token strings whose embedding rows to keep besides the model's own selection (the
    suspect side keeps the rows its references selected).  ``transform(key, array) -> array`` is applied
    to every tensor before extraction (used to undo a residual rotation).
    """
    cfg = ckpt.config
    tok = ckpt.tokenizer
    tensors: dict[str, dict[str, Any]] = {}
    arrays: dict[str, np.ndarray] = {}
    emb_vocab = ckpt.tensors["text.embed"].shape[0] if "text.embed" in ckpt.tensors else cfg.vocab
    own = select_tokens(tok, emb_vocab)
    wanted = list(dict.fromkeys([*own, *extra_tokens]))
    ids = token_ids(tok, wanted, emb_vocab)
    kept_tokens = [s for s in wanted if s in ids]
    pool = ThreadPoolExecutor(max_workers=2)
    futures: list[tuple[dict[str, Any], str, Future[str], str]] = []
    for key, ref in ckpt.tensors.items():
        _, _, role = parse_key(key)
        raw = ckpt.raw(key)
        view = ckpt.stored(key, raw) if transform is None else None
        info: dict[str, Any] = {"shape": list(ref.shape), "n_params": ref.n_params, "stored_dtype": ref.stored_dtype}
        tag = ":" + ref.stored_dtype + ":" + str(ref.ops)
        if view is not None:  # fast path: hash the stored bytes, convert only what is kept
            fr = pool.submit(_sha, raw)
            futures.append((info, "raw_sha256", fr, tag))
            futures.append((info, "bf16_sha256", fr if ref.stored_dtype == "BF16" else pool.submit(bf16_hash, view), ""))
            a = view
        else:
            a = ckpt.read(key)
            if transform is not None:
                a = transform(key, a)
            info["shape"] = list(a.shape)
            futures.append((info, "raw_sha256", pool.submit(_sha, raw), tag))
            futures.append((info, "bf16_sha256", pool.submit(bf16_hash, a), ""))
        flat = a.reshape(-1)
        sample = _f32(flat[:: max(1, flat.size // 1_000_000)]).astype(np.float64)
        info["mean"] = float(sample.mean()) if sample.size else 0.0
        info["std"] = float(sample.std()) if sample.size else 0.0
        if a.ndim == 1 and (is_norm(role) or a.size <= 8192):
            arrays[f"vec/{key}"] = _f32(a)
        if role in ("embed", "lm_head") and a.ndim == 2:
            rows = np.array([ids[s] for s in kept_tokens], dtype=np.int64)
            arrays[f"rows/{key}"] = _f32(a[rows]).astype(np.float16)
        if a.ndim == 2 and min(a.shape) > 1:
            r, c = block_rows_cols(a.shape)
            arrays[f"blk/{key}"] = _f32(a[np.ix_(r, c)]).astype(np.float16)
            info["anchored"] = role in ANCHORED_ROLES
        elif a.ndim > 2:  # stacked experts: block of the flattened first two axes
            a2 = a.reshape(-1, a.shape[-1])
            r, c = block_rows_cols(a2.shape)
            arrays[f"blk/{key}"] = _f32(a2[np.ix_(r, c)]).astype(np.float16)
        tensors[key] = info
        del a, view, flat
        while sum(not f.done() for _, _, f, _ in futures) > 2:  # bound the buffers held by hashing
            next(f for _, _, f, _ in futures if not f.done()).result()
    for info, fld, fut, tag in futures:
        info[fld] = fut.result() + tag
    pool.shutdown()
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
        "source_files": ckpt.file_sha256() if source_hashes else {},
        "params": {"n_rows": N_ROWS, "n_cols": N_COLS, "n_tokens": N_TOKENS},
    }
    return Fingerprint(meta, arrays)
