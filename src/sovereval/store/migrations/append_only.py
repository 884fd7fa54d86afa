"""Append-only guards for migrations: database triggers that reject UPDATE and DELETE (and TRUNCATE).

Call :func:`install_guard_function` once (the initial migration does) and :func:`protect` for every
table a migration creates.  The guards live in the database, so they hold for every client, not only
for :class:`sovereval.store.Store`.
"""

from __future__ import annotations

from alembic import op

GUARD_FUNCTION = "sovereval_reject_change"


def _dialect() -> str:
    name = op.get_bind().dialect.name
    if name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"append-only triggers are not implemented for {name!r}")
    return name


def install_guard_function() -> None:
    """PostgreSQL: the trigger function every guard calls (SQLite needs none)."""
    if _dialect() == "postgresql":
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION {GUARD_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'sovereval: table % is append-only; % rejected', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )


def drop_guard_function() -> None:
    if _dialect() == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {GUARD_FUNCTION}()")


def protect(table: str) -> None:
    """Reject UPDATE and DELETE on ``table`` (and TRUNCATE on PostgreSQL)."""
    if _dialect() == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'sovereval: table {table} is append-only; {verb} rejected'); END"
            )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {GUARD_FUNCTION}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {GUARD_FUNCTION}()"
        )


def unprotect(table: str) -> None:
    """Drop the guards of ``table`` (for downgrades only)."""
    if _dialect() == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
