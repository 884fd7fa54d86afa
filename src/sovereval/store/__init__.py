"""Append-only store of programmes, raw inputs, score runs and a hash-chained audit log.

SQLite by default (``.sovereval/sovereval.db``), PostgreSQL via ``postgresql+psycopg://``; the schema
is managed by Alembic migrations that :class:`Store` applies on open.
"""

from sovereval.store.store import (
    KEY_FIELDS,
    KINDS,
    AuditEntry,
    Batch,
    ConflictError,
    HistoryEntry,
    Kind,
    ProgramInfo,
    ScoreRunInfo,
    Store,
    StoreError,
    canonical_json,
    content_sha256,
    inputs_sha256,
    normalise_inputs,
    sha256_text,
)

__all__ = [
    "KEY_FIELDS",
    "KINDS",
    "AuditEntry",
    "Batch",
    "ConflictError",
    "HistoryEntry",
    "Kind",
    "ProgramInfo",
    "ScoreRunInfo",
    "Store",
    "StoreError",
    "canonical_json",
    "content_sha256",
    "inputs_sha256",
    "normalise_inputs",
    "sha256_text",
]
