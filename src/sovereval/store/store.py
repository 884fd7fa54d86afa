"""The store: programmes, raw inputs, score runs and a hash-chained audit log, append-only.

Nothing is ever updated or deleted (database triggers reject it).  An import is a batch; a record's
*key* (e.g. gate + team) names the thing it measures, and the current value of a key is the one from
the latest batch that has it.  Changing a recorded value needs a reason, which is kept with the new
batch and in the audit log; the old value stays as history.  Every write appends one audit event in
the same transaction.

Concurrency: writers are serialised (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a transaction-level
advisory lock), so conflict checks and the audit chain see a stable head.

This module composes :class:`Store` from the package's parts and re-exports the names it has always
offered:

- :mod:`~sovereval.store.model`: errors, record kinds, the dataclasses reads return;
- :mod:`~sovereval.store.canonical`: canonical JSON, record keys, content and inputs digests;
- :mod:`~sovereval.store.database`: :class:`~sovereval.store.database.Database` (engine, transactions,
  migrations);
- :mod:`~sovereval.store.rows`: writing and reading the record tables;
- :mod:`~sovereval.store.chain`: the audit hash chain and its verification;
- :mod:`~sovereval.store.programs`, :mod:`~sovereval.store.inputs`, :mod:`~sovereval.store.score_runs`:
  the store's methods, one mixin each.
"""

from __future__ import annotations

# besides __all__, the names marked F401 are re-exported: importers of this module have always had them
from sovereval.program.records import normalise_inputs
from sovereval.store.canonical import (
    KEY_FIELDS,
    canonical_json,
    content_sha256,
    inputs_sha256,
    items_sha256,  # noqa: F401
    key_label,  # noqa: F401
    record_key,  # noqa: F401
    records_of,  # noqa: F401
    sha256_text,
)
from sovereval.store.chain import GENESIS_HASH, AuditLog, event_hash  # noqa: F401
from sovereval.store.database import MIGRATIONS, default_url  # noqa: F401
from sovereval.store.inputs import InputBatches
from sovereval.store.model import (
    KINDS,
    AuditEntry,
    Batch,
    ConflictError,
    HistoryEntry,
    Key,  # noqa: F401
    Kind,
    ProgramInfo,
    Record,
    ScoreRunInfo,
    StoreError,
)
from sovereval.store.programs import Programs
from sovereval.store.rows import _MODEL, _TABLE  # noqa: F401
from sovereval.store.score_runs import ScoreRuns


class Store(Programs, InputBatches, ScoreRuns, AuditLog):
    """Open (and migrate to the latest schema) the database at ``url``.

    ``url`` defaults to ``$SOVEREVAL_DB``, else ``sqlite:///<cwd>/.sovereval/sovereval.db``.  PostgreSQL:
    ``postgresql+psycopg://user@host:port/db`` (a bare ``postgresql://`` is taken to mean psycopg).
    """


__all__ = [
    "GENESIS_HASH",
    "KEY_FIELDS",
    "KINDS",
    "AuditEntry",
    "Batch",
    "ConflictError",
    "HistoryEntry",
    "Kind",
    "ProgramInfo",
    "Record",
    "ScoreRunInfo",
    "Store",
    "StoreError",
    "canonical_json",
    "content_sha256",
    "inputs_sha256",
    "normalise_inputs",
    "sha256_text",
]
