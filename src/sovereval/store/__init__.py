"""Append-only store of programmes, raw inputs, score runs and a hash-chained audit log.

SQLite by default (``.sovereval/sovereval.db``), PostgreSQL via ``postgresql+psycopg://``; the schema
is managed by Alembic migrations that :class:`Store` applies on open.
"""

# the package offers the public names of `store.py`, listed once there in its `__all__`
from sovereval.store.store import *
from sovereval.store.store import __all__  # noqa: F401
