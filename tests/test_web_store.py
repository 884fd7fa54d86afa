"""The web tables: created by migration 0003 exactly as the ORM declares them, and append-only in
the database itself (UPDATE and DELETE rejected by triggers) on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from sovereval.bench.metering import Meter
from sovereval.program.load import load_program
from sovereval.program.scope import make_scope
from sovereval.store import Store
from sovereval.store.schema import Base
from sovereval.store.web_schema import WEB_TABLES
from sovereval.store.webdb import WebDB
from sovereval.web.seed import DEMO_PROGRAM


def populate_web(store: Store) -> None:
    """Write at least one row into every web table through the web services (used by test_store too)."""
    from sovereval.arena.battles import Arena
    from sovereval.panel.assign import Assignments
    from sovereval.panel.dossier import Dossiers
    from sovereval.panel.scores import PanelBook
    from sovereval.web.accounts import Accounts
    from sovereval.web.sites import Site
    from sovereval.web.stub import StubBackend
    from sovereval.web.userpanel import UserPanel

    loaded = load_program(DEMO_PROGRAM)
    sha = store.add_program(loaded.text, "program.toml", "t")
    scope = make_scope(loaded.program, sha)
    db = WebDB(store)
    acc = Accounts(db)
    suffix = uuid.uuid4().hex[:6]
    expert = acc.accept(acc.invite("t", "expert"), username=f"e-{suffix}", display_name="", password="x" * 12)
    user = acc.accept(acc.invite("t", "user"), username=f"u-{suffix}", display_name="", password="x" * 12)
    juror = acc.accept(acc.invite("t", "juror", profile={"gender": "male", "region": "other", "age": "30s",
                                                         "proficiency": "beginner"}),
                       username=f"j-{suffix}", display_name="", password=None,
                       quota_check=Arena(db, scope, scope.teams).quota_check)  # JSON queries on both backends  # fmt: skip
    sid = acc.session(acc.start_session(expert))
    assert sid is not None
    acc.end_session(sid[0], expert.username)
    assign = Assignments(db, scope)
    assign.assign("t", expert.id, "alpha")
    assign.assign("t", expert.id, "beta")
    assign.declare_conflict("t", expert.id, "beta", "same institution")
    book = PanelBook(db, scope, assign)
    book.submit(expert.id, "t", "alpha", {i: (1.0, "ok") for i in book.items}, "s1")
    book.lock("t")
    Dossiers(db, scope).upload("t", "alpha", "technical_report", "r.md", b"# r")
    sites = {t: Site(t, f"L{t}", StubBackend(t)) for t in scope.teams}
    users = UserPanel(db, scope, sites)
    users.record_cards("t")
    conv = users.conversation(users.new_conversation(user.id, "t", "alpha"), user.id)
    m = Meter()
    m.text.append("hi")
    m.tokens, m.first, m.ended = 1, m.started + 0.01, m.started + 0.02
    users.save_turn(conv, "t", "hello", m)
    users.rate(conv, "t", dict.fromkeys(users.items, 4.0), "", "r1")
    arena = Arena(db, scope, scope.teams)
    b = arena.battle(arena.new_battle(juror.id, "t", "prompt"), juror.id)
    arena.save_answer(b, "a", m)
    arena.save_answer(b, "b", m)
    arena.vote(b.public_id, juror.id, "t", "a")


def test_migration_matches_the_orm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    Store(url).close()
    engine = create_engine(url)
    try:
        assert set(WEB_TABLES) <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            diff = [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata)]
            assert diff == []
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"
    finally:
        engine.dispose()


def test_web_tables_are_append_only(db_url: str) -> None:
    with Store(db_url) as store:
        populate_web(store)
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in WEB_TABLES}
        assert all(n > 0 for n in counts.values()), counts
        for table in WEB_TABLES:
            col = Base.metadata.tables[table].columns.keys()[0]
            for sql in (f"UPDATE {table} SET {col} = {col}", f"DELETE FROM {table}"):
                with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                    conn.execute(text(sql))
        with engine.connect() as conn:
            assert {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in WEB_TABLES} == counts
    finally:
        engine.dispose()
    with Store(db_url) as store:
        ok, msg = store.verify_audit_chain()
        assert ok, msg
