"""Canonical forms and digests of what the store keeps, and record normalisation.

The strict canonical JSON every store digest is taken over, the key of a record (what it measures), an
:class:`~sovereval.program.records.Inputs` split into ``(kind, record)`` pairs, and the digests of a
batch's content, of a benchmark result's items and of a whole inputs file.  Pure functions: no database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import RowMapping

from sovereval.digest import canonical_json_ascii, sha256_hex
from sovereval.program.records import (
    RECORD_KEYS,
    BenchmarkResult,
    Inputs,
    inputs_digest,
    record_sort_key,
)
from sovereval.store.model import KINDS, Key, Kind, Record, StoreError

#: the field of :class:`~sovereval.program.records.Inputs` that holds each kind of record
_FIELD: dict[Kind, str] = {
    "benchmark": "benchmarks",
    "rating": "ratings",
    "gate": "gates",
    "approval": "approvals",
    "published": "published",
    "outcome": "outcome",
}
#: the fields that name what a record measures; a second value for the same key is a change
KEY_FIELDS: dict[Kind, tuple[str, ...]] = {kind: RECORD_KEYS.get(_FIELD[kind], ()) for kind in KINDS}
_BENCH_HEADER = ("team", "benchmark", "n", "mean", "binary", "sd", "provenance", "note")


def canonical_json(obj: Any) -> str:
    """:func:`sovereval.digest.canonical_json_ascii` (the form every store digest is taken over), refusing
    NaN/Infinity with a :class:`StoreError`."""
    try:
        return canonical_json_ascii(obj)
    except ValueError as e:
        raise StoreError(f"not storable as strict JSON (NaN or infinity?): {e}") from None


def sha256_text(s: str) -> str:
    """:func:`sovereval.digest.sha256_hex` of text (UTF-8)."""
    return sha256_hex(s)


def record_key(kind: Kind, rec: Record) -> Key:
    return tuple(getattr(rec, f) for f in KEY_FIELDS[kind])


def key_label(kind: Kind, key: Key) -> str:
    return f"{kind} {'/'.join('-' if k is None else k for k in key)}" if key else kind


def _sort_key(kind: Kind, rec: Record) -> tuple[str, ...]:
    return record_sort_key(KEY_FIELDS[kind], rec)


def records_of(inputs: Inputs) -> list[tuple[Kind, Record]]:
    out: list[tuple[Kind, Record]] = []
    for kind in KINDS:
        value = getattr(inputs, _FIELD[kind])
        if kind == "outcome":
            out.extend([(kind, value)] if value is not None else [])
        else:
            out.extend((kind, r) for r in value)
    return out


def inputs_sha256(inputs: Inputs) -> str:
    """:func:`sovereval.program.records.inputs_digest` (the one inputs digest), failing as a :class:`StoreError`."""
    try:
        return inputs_digest(inputs)
    except ValueError as e:
        raise StoreError(f"not storable as strict JSON: {e}") from None


def items_sha256(b: BenchmarkResult) -> str | None:
    if not b.scores:
        return None
    return sha256_text(canonical_json([list(b.item_ids), list(b.scores), list(b.clusters)]))


def _digest_form(kind: Kind, rec: Record) -> dict[str, Any]:
    if isinstance(rec, BenchmarkResult):  # items are represented by their digest
        form = {f: getattr(rec, f) for f in _BENCH_HEADER}
        return form | {"item_count": len(rec.scores), "items_sha256": items_sha256(rec)}
    return rec.model_dump(mode="json")


def content_sha256(records: Iterable[tuple[Kind, Record]]) -> str:
    """Digest of the records a batch stores (order-independent)."""
    ordered = sorted(records, key=lambda kr: (KINDS.index(kr[0]), _sort_key(*kr)))
    return sha256_text(canonical_json([[k, _digest_form(k, r)] for k, r in ordered]))


def _signature(kind: Kind, rec: Record) -> object:
    """What must be equal for two values of one key to count as the same value."""
    if isinstance(rec, BenchmarkResult):
        return tuple(getattr(rec, f) for f in _BENCH_HEADER) + (len(rec.scores), items_sha256(rec))
    return rec


def _bench_row_signature(r: RowMapping) -> object:
    return tuple(r[f] for f in _BENCH_HEADER) + (r["item_count"], r["items_sha256"])
