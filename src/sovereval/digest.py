"""Canonical JSON, content digests and request keys: the one place sovereval takes a digest of a value.

Every digest here is *stored* somewhere — ledger keys, hash-chained audit events, batch and result digests,
run manifests — and is compared against a recomputation later.  The byte formats are therefore frozen:
changing one orphans every ledger entry or breaks every stored hash chain.  ``tests/test_digest.py`` pins
each format with golden values; a change that moves one of them is a migration, not a refactor.

Two canonical-JSON byte formats exist, and both are kept, each behind its own name:

* :func:`canonical_json_ascii` — sorted keys, no whitespace, ``\\uXXXX`` escapes for every non-ASCII
  character, NaN and infinities refused.  The store's form: audit-event hashes, input-batch content
  digests, score-result digests, the whole-``Inputs`` digest, ledger response and manifest digests.
* :func:`canonical_json_unicode` — sorted keys, no whitespace, non-ASCII characters written as themselves
  (UTF-8 once encoded), NaN and infinities written as ``NaN``/``Infinity`` as :mod:`json` does by default.
  The benchmark form: ledger request keys, benchmark-declaration versions, template and judge-prompt
  digests, content-derived item ids.

This module imports nothing from sovereval: domain packages and front ends alike depend on it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

__all__ = [
    "canonical_json",
    "canonical_json_ascii",
    "canonical_json_unicode",
    "content_digest",
    "key_for",
    "request_key",
    "sha256_hex",
]


def canonical_json_ascii(obj: Any) -> str:
    """Sorted keys, ``,``/``:`` separators, ASCII only (``ensure_ascii``), strict JSON.

    Raises :class:`ValueError` on NaN or an infinity, which strict JSON cannot hold (the store turns it
    into a ``StoreError``).  Frozen: stored audit hash chains and content digests are verified against it.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical_json_unicode(obj: Any) -> str:
    """Sorted keys, ``,``/``:`` separators, non-ASCII characters unescaped; NaN/infinities as :mod:`json` writes them.

    Frozen: every ledger key (:func:`key_for`) is a digest of it, so existing ledgers are keyed by it.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(obj: Any, *, ascii: bool) -> str:
    """:func:`canonical_json_ascii` when ``ascii``, else :func:`canonical_json_unicode`.

    The keyword is required: the two formats differ in bytes for any non-ASCII text, and which one a
    digest uses is part of that digest's stored definition.
    """
    return canonical_json_ascii(obj) if ascii else canonical_json_unicode(obj)


def sha256_hex(data: str | bytes) -> str:
    """Lower-case hex SHA-256 of ``data``; text is encoded as UTF-8 first."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def content_digest(obj: Any, *, ascii: bool) -> str:
    """SHA-256 (hex) of the UTF-8 of ``canonical_json(obj, ascii=ascii)``: equal JSON values, equal digest."""
    return sha256_hex(canonical_json(obj, ascii=ascii))


# --------------------------------------------------------------------------------------------------
# Ledger request keys
# --------------------------------------------------------------------------------------------------


class _Request(Protocol):
    def payload(self) -> dict[str, Any]: ...


class _Identity(Protocol):
    @property
    def key(self) -> str: ...


def key_for(model_key: str, endpoint: str, request: _Request, epoch: int = 0) -> str:
    """The ledger key from a model key (``ModelIdentity.key``), e.g. one read back from the ledger.

    The :func:`content_digest` (unicode format) of ``{"model", "endpoint", "request": request.payload(),
    "epoch"}``: the same request against the same weights, endpoint and epoch is never sent twice, and a
    changed prompt, sampling parameter, seed or weights hash is a different key.  Frozen: the ledger is
    keyed by it.
    """
    body = {"model": model_key, "endpoint": endpoint, "request": request.payload(), "epoch": epoch}
    return content_digest(body, ascii=False)


def request_key(identity: _Identity, endpoint: str, request: _Request, epoch: int = 0) -> str:
    """The ledger key: sha256 over model identity, endpoint, full payload (incl. sampling and seed), epoch."""
    return key_for(identity.key, endpoint, request, epoch)
