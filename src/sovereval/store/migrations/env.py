"""Alembic environment.  :class:`sovereval.store.Store` passes an open connection in
``config.attributes["connection"]``; the command-line ``alembic`` (with the alembic.ini next to this
file) connects to ``-x url=...``, else ``$SOVEREVAL_DB``, else ``sqlalchemy.url`` from the ini."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from sovereval.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("SOVEREVAL_DB")
    return url or config.get_main_option("sqlalchemy.url") or "sqlite:///.sovereval/sovereval.db"


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given: Connection | None = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        engine = create_engine(_url(), poolclass=pool.NullPool)
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
