"""The store on SQLite and PostgreSQL: schema, round-trips, all-or-nothing imports, append-only
triggers, supersession with reasons, and the audit hash chain."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

import sovereval.store.inputs as inputs_module
from sovereval.program.records import (
    Approval,
    BenchmarkResult,
    GateDecision,
    Inputs,
    PublishedCell,
    PublishedOutcome,
    Rating,
)
from sovereval.store import ConflictError, Store, StoreError, inputs_sha256, normalise_inputs
from sovereval.store.schema import TABLES, Base
from tests.test_web_store import populate_web

ROOT = Path(__file__).resolve().parents[1]
PROGRAM_TOML = 'id = "demo"\nname = "Demo programme"\nversion = "1"\n'
P, S = "demo", "stage1"


def sample_inputs() -> Inputs:
    return Inputs(
        program=P,
        stage=S,
        provenance="recorded",
        note="sample",
        benchmarks=(
            BenchmarkResult(team="b-team", benchmark="summary", n=200, mean=61.5, provenance="published"),
            BenchmarkResult(team="a-team", benchmark="nonbinary", n=50, mean=40.25, binary=False, sd=12.5),
            BenchmarkResult(
                team="a-team",
                benchmark="items",
                item_ids=("q3", "q1", "q2"),
                scores=(1.0, 0.0, 0.3333333333333333),
                clusters=("p1", "p1", "p2"),
                note="item-level",
            ),
            BenchmarkResult(team="b-team", benchmark="items", item_ids=("q1", "q2"), scores=(0.5, 1.0)),
        ),
        ratings=(
            Rating(panel="experts", rater="r1", team="a-team", item="design", value=7.5, comment="solid"),
            Rating(panel="experts", rater="r2", team="a-team", item="design", value=8.0),
            Rating(
                panel="users", rater="u1", team="b-team", item="ux", value=3.0, provenance="reconstructed"
            ),
        ),
        gates=(
            GateDecision(
                gate="independence", team="a-team", status="pass", decided_by="committee", date="2026-01-10"
            ),
            GateDecision(
                gate="independence",
                team="b-team",
                status="fail",
                reason="used a foreign base model",
                evidence="model card",
                decided_by="committee",
                date="2026-01-10",
            ),
        ),
        approvals=(
            Approval(panel="experts", rater="r1", team="a-team", approve=True),
            Approval(panel="experts", rater="r1", team="b-team", approve=False, call="recompetition"),
        ),
        published=(
            PublishedCell(key="total", team="a-team", value=88.4, decimals=1, source="release"),
            PublishedCell(key="total", stat="mean", value=71.2, source="release"),
        ),
        outcome=PublishedOutcome(selected=("a-team",), eliminated={"b-team": "gate"}, source="release"),
    )


@pytest.fixture
def program_sha(store: Store) -> str:
    return store.add_program(PROGRAM_TOML, "demo.toml", "alice")


@pytest.fixture
def raw(db_url: str) -> Iterator[Engine]:
    """A plain engine on the same database, bypassing the Store."""
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


def do_import(store: Store, sha: str, inputs: Inputs, reason: str | None = None) -> int:
    return store.import_inputs(
        inputs,
        program_sha256=sha,
        source_name="inputs.toml",
        source_sha256="f" * 64,
        actor="bob",
        reason=reason,
    )


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def set_guards(engine: Engine, table: str, on: bool) -> None:
    """Tests only: lift (or restore) a table's append-only triggers, as an attacker with DDL rights could."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER USER"))
        elif not on:
            conn.execute(text(f"DROP TRIGGER {table}_no_update"))
            conn.execute(text(f"DROP TRIGGER {table}_no_delete"))


# --------------------------------------------------------------------------------------------------


def test_migrations_create_the_schema(store: Store, raw: Engine) -> None:
    insp = inspect(raw)
    assert set(insp.get_table_names()) == set(TABLES) | {"alembic_version"}
    assert set(TABLES) >= {
        "programs", "input_batches", "benchmark_results", "item_scores", "ratings", "gate_decisions",
        "approvals", "published_cells", "published_outcomes", "score_runs", "audit_events",
    }  # fmt: skip
    with raw.connect() as conn:
        versions = Path(__file__).parents[1] / "src" / "sovereval" / "store" / "migrations" / "versions"
        head = max(p.name.split("_")[0] for p in versions.glob("[0-9]*_*.py"))
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        # the migration and the ORM classes describe the same schema
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    Store(store.url.render_as_string(hide_password=False)).close()  # reopening is a no-op upgrade


def test_every_record_field_has_a_column() -> None:
    """A field added to a record needs a column (and a migration), or it would be silently dropped."""
    from sovereval.store.store import _MODEL, _TABLE

    for kind, model in _MODEL.items():
        columns = set(_TABLE[kind].columns.keys())
        if kind == "benchmark":
            columns |= {"item_ids", "scores", "clusters"}  # stored in item_scores
        missing = set(model.model_fields) - columns
        assert not missing, f"{model.__name__} fields without a column in {_TABLE[kind].name}: {missing}"


def test_default_url_and_sqlite_pragmas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOVEREVAL_DB", raising=False)
    with Store() as s:
        assert (tmp_path / ".sovereval" / "sovereval.db").is_file()
        with s._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    monkeypatch.setenv("SOVEREVAL_DB", f"sqlite:///{tmp_path / 'other.db'}")
    Store().close()
    assert (tmp_path / "other.db").is_file()


def test_programs_are_stored_once_and_found_by_sha_or_id(store: Store) -> None:
    sha = store.add_program(PROGRAM_TOML, "demo.toml", "alice")
    assert store.add_program(PROGRAM_TOML, "copy.toml", "carol") == sha  # idempotent: nothing written
    assert len(store.programs()) == 1 and len(store.audit_events()) == 1
    v2 = PROGRAM_TOML.replace('version = "1"', 'version = "2"')
    sha2 = store.add_program(v2, "demo-v2.toml", "alice")
    assert store.get_program_text(sha) == PROGRAM_TOML
    assert store.get_program_text("demo") == v2  # latest by programme id
    assert [(p.version, p.created_by) for p in store.programs("demo")] == [("1", "alice"), ("2", "alice")]
    assert store.programs()[1].sha256 == sha2
    with pytest.raises(StoreError, match="no programme"):
        store.get_program_text("nope")
    with pytest.raises(StoreError, match="'id' and 'version'"):
        store.add_program('name = "x"\n', "bad.toml", "alice")
    with pytest.raises(StoreError, match="not valid TOML"):
        store.add_program("id = ", "bad.toml", "alice")
    assert store.add_program("x = 1\n", "given.toml", "alice", program_id="other", version="0.1")


def test_inputs_round_trip(store: Store, program_sha: str) -> None:
    x = sample_inputs()
    batch = do_import(store, program_sha, x)
    got = store.current_inputs(P, S)
    assert got == normalise_inputs(x)
    assert inputs_sha256(got) == inputs_sha256(x)
    b = store.batches(P, S)
    assert [(bb.id, bb.kind, bb.created_by, bb.source_sha256, bb.reason) for bb in b] == [
        (batch, "import", "bob", "f" * 64, None)
    ]
    assert b[0].inputs_sha256 == inputs_sha256(x)
    with pytest.raises(StoreError, match="no inputs recorded"):
        store.current_inputs(P, "stage2")


def test_identical_reimport_is_a_noop(store: Store, program_sha: str, raw: Engine) -> None:
    first = do_import(store, program_sha, sample_inputs())
    before, events = row_counts(raw), len(store.audit_events())
    assert do_import(store, program_sha, sample_inputs()) == first
    shuffled = sample_inputs().model_copy(update={"ratings": sample_inputs().ratings[::-1]})
    assert do_import(store, program_sha, shuffled) == first
    assert row_counts(raw) == before and len(store.audit_events()) == events


def test_new_keys_are_added_without_a_reason(store: Store, program_sha: str) -> None:
    do_import(store, program_sha, sample_inputs())
    extra = Rating(panel="experts", rater="r3", team="a-team", item="design", value=6.0)
    more = Inputs(program=P, stage=S, ratings=(*sample_inputs().ratings, extra))
    batch = do_import(store, program_sha, more)
    assert store.audit_events()[-1].detail["counts"] == {"rating": 1}  # only the new record is stored
    assert store.audit_events()[-1].detail["unchanged"] == 3
    assert extra in store.current_inputs(P, S).ratings
    assert batch == store.batches(P, S)[-1].id


def test_changed_values_need_a_reason_and_keep_history(store: Store, program_sha: str, raw: Engine) -> None:
    x = sample_inputs()
    first = do_import(store, program_sha, x)
    gate = GateDecision(
        gate="independence", team="a-team", status="fail", reason="licence breach", decided_by="c"
    )
    rating = x.ratings[0].model_copy(update={"value": 9.0})
    items = x.benchmarks[2].model_copy(update={"scores": (1.0, 1.0, 0.3333333333333333)})
    changed = Inputs(program=P, stage=S, gates=(gate,), ratings=(rating, x.ratings[1]), benchmarks=(items,))
    before = row_counts(raw)
    with pytest.raises(ConflictError) as err:
        do_import(store, program_sha, changed)
    assert set(err.value.changed) == {
        "gate independence/a-team",
        "rating experts/r1/a-team/design",
        "benchmark a-team/items",
    }
    assert "gate independence/a-team" in str(err.value)
    assert row_counts(raw) == before  # refused: nothing written

    second = do_import(store, program_sha, changed, reason="appeal upheld; corrected sheet")
    assert second > first
    now = store.current_inputs(P, S)
    assert gate in now.gates and rating in now.ratings and items in now.benchmarks
    assert x.ratings[1] in now.ratings and x.gates[1] in now.gates  # untouched keys keep their values
    assert len(now.ratings) == 3 and len(now.gates) == 2 and len(now.benchmarks) == 4

    hist = store.history(P, S, "gate", "independence", "a-team")
    assert [(h.record.status, h.current, h.batch.id, h.batch.reason) for h in hist] == [
        ("pass", False, first, None),
        ("fail", True, second, "appeal upheld; corrected sheet"),
    ]
    rh = store.history(P, S, "rating", "experts", "r1")
    assert [(h.record.value, h.current) for h in rh] == [(7.5, False), (9.0, True)]
    bh = store.history(P, S, "benchmark", "a-team", "items")
    assert [h.record.scores for h in bh] == [x.benchmarks[2].scores, items.scores]
    ev = store.audit_events()[-1]
    assert ev.detail["reason"] == "appeal upheld; corrected sheet"
    assert len(ev.detail["superseded"]) == 3 and ev.detail["counts"] == {
        "benchmark": 1,
        "rating": 1,
        "gate": 1,
    }
    # re-importing the original values is again a change, refused without a reason
    with pytest.raises(ConflictError):
        do_import(store, program_sha, x)


def test_record_gate(store: Store, program_sha: str) -> None:
    do_import(store, program_sha, sample_inputs())
    pending = GateDecision(gate="safety", team="a-team", status="pending")
    b1 = store.record_gate(pending, P, S, "carol")
    assert store.record_gate(pending, P, S, "carol") == b1  # same decision again: no-op
    passed = pending.model_copy(update={"status": "pass", "evidence": "audit report"})
    with pytest.raises(ConflictError, match="gate safety/a-team"):
        store.record_gate(passed, P, S, "carol")
    b2 = store.record_gate(passed, P, S, "carol", "audit completed")
    assert [h.record.status for h in store.history(P, S, "gate", "safety")] == ["pending", "pass"]
    now = store.current_inputs(P, S)
    assert passed in now.gates and now.note == "sample"  # inputs-level note comes from the last import
    assert [b.kind for b in store.batches(P, S)] == ["import", "gate", "gate"] and store.batches()[
        -1
    ].id == b2
    assert store.audit_events()[-1].action == "record_gate"
    with pytest.raises(StoreError, match="no programme"):
        store.record_gate(pending, "unknown", S, "carol")


def test_import_is_all_or_nothing_when_the_database_refuses(
    store: Store, program_sha: str, raw: Engine
) -> None:
    x = sample_inputs()
    # bypass validation: a 'fail' without a reason violates a CHECK constraint after benchmarks and
    # ratings have already been inserted in the same transaction
    bad = GateDecision.model_construct(
        gate="g",
        team="a-team",
        status="fail",
        reason="",
        evidence="",
        decided_by="",
        date="",
        provenance="recorded",
    )
    broken = Inputs.model_construct(**(dict(x) | {"gates": (*x.gates, bad)}))
    before, events = row_counts(raw), len(store.audit_events())
    with pytest.raises(StoreError, match="refused"):
        do_import(store, program_sha, broken)
    assert row_counts(raw) == before and len(store.audit_events()) == events
    assert store.batches() == []


def test_import_is_all_or_nothing_on_an_exception(
    store: Store, program_sha: str, raw: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("injected failure after the records were inserted")

    monkeypatch.setattr(inputs_module, "_append_event", boom)  # the one _import calls
    before = row_counts(raw)
    with pytest.raises(RuntimeError, match="injected"):
        do_import(store, program_sha, sample_inputs())
    assert row_counts(raw) == before
    monkeypatch.undo()
    batch = do_import(store, program_sha, sample_inputs())  # and the store still works
    assert [b.id for b in store.batches()] == [batch]
    assert store.verify_audit_chain()[0]


def test_inputs_must_match_the_programme(store: Store, program_sha: str) -> None:
    with pytest.raises(StoreError, match="no programme"):
        do_import(store, "0" * 64, sample_inputs())
    wrong = sample_inputs().model_copy(update={"program": "other"})
    with pytest.raises(StoreError, match="'other'"):
        do_import(store, program_sha, wrong)
    with pytest.raises(StoreError, match="actor"):
        store.import_inputs(
            sample_inputs(), program_sha256=program_sha, source_name="x", source_sha256="x", actor=" "
        )


def populate(store: Store, program_sha: str) -> None:
    """At least one row in every table."""
    do_import(store, program_sha, sample_inputs())
    store.record_score_run(
        program_sha256=program_sha, stage_id=S, inputs_sha256=inputs_sha256(sample_inputs()), seed=7,
        replicates=100, engine_version="0.1.0", result={"totals": {"a-team": 88.4}}, actor="bob",
    )  # fmt: skip
    from sovereval.store.ledger import Entry, Failure, Ledger

    ledger = Ledger(store)
    run = ledger.start_run(benchmark_id="b", decl_version="0" * 64, model_key="sha256:" + "1" * 64, model_name="m",
                           endpoint="embedded:m", epoch=0, n_items=2, manifest={"x": 1}, actor="bob")
    ledger.write([Entry("k" * 64, run, "sha256:" + "1" * 64, "embedded:m", 0, "generate", {"p": 1}, {"text": "4"}, 1, 0.1)],
                 [Failure("f" * 64, run, "client", 400, "bad request", 1)])
    ledger.end_run(run, completed=1, cached=0, failed=1, duration_s=0.5, actor="bob")


def test_database_rejects_update_and_delete_on_every_table(
    store: Store, program_sha: str, raw: Engine
) -> None:
    populate(store, program_sha)
    populate_web(store)
    counts = row_counts(raw)
    assert all(counts[t] > 0 for t in TABLES), counts
    for table in TABLES:
        col = Base.metadata.tables[table].columns.keys()[0]
        statements = [f"UPDATE {table} SET {col} = {col}", f"DELETE FROM {table}"]
        if raw.dialect.name == "postgresql":
            statements.append(f"TRUNCATE {table} CASCADE")
        for sql in statements:
            with pytest.raises(DBAPIError, match="append-only"), raw.begin() as conn:
                conn.execute(text(sql))
    assert row_counts(raw) == counts


def test_score_runs_are_recorded_and_listed(store: Store, program_sha: str) -> None:
    digest = inputs_sha256(sample_inputs())
    ids = [
        store.record_score_run(
            program_sha256=program_sha, stage_id=S, inputs_sha256=digest, seed=seed, replicates=1000,
            engine_version="0.1.0", result={"seed": seed, "ranking": ["a-team", "b-team"], "p": [0.5, 0.25]},
            actor="bob",
        )
        for seed in (1, 2**62)
    ]  # fmt: skip
    runs = store.score_runs(P, S)
    assert [r.id for r in runs] == ids
    assert [r.seed for r in runs] == [1, 2**62]
    assert runs[1].result == {"seed": 2**62, "ranking": ["a-team", "b-team"], "p": [0.5, 0.25]}
    assert runs[0].program_id == P and runs[0].inputs_sha256 == digest and runs[0].created_by == "bob"
    assert store.score_runs(P, "other") == []
    assert [e.entity_id for e in store.audit_events("score_run")] == [str(i) for i in ids]
    with pytest.raises(StoreError, match="no programme"):
        store.record_score_run(program_sha256="0" * 64, stage_id=S, inputs_sha256=digest, seed=1, replicates=1,
                               engine_version="x", result={}, actor="bob")  # fmt: skip
    with pytest.raises(StoreError, match="NaN"):
        store.record_score_run(program_sha256=program_sha, stage_id=S, inputs_sha256=digest, seed=1, replicates=1,
                               engine_version="x", result={"x": float("nan")}, actor="bob")  # fmt: skip


def test_audit_chain_verifies(store: Store, program_sha: str) -> None:
    populate(store, program_sha)
    store.record_gate(GateDecision(gate="safety", team="a-team", status="pass"), P, S, "carol")
    events = store.audit_events()
    assert [e.action for e in events] == ["add_program", "import_inputs", "record_score_run", "start_eval_run",
                                          "end_eval_run", "record_gate"]
    assert [e.id for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert events[1].actor == "bob" and events[1].at.tzinfo is not None
    assert store.audit_head() == (6, events[-1].hash)
    ok, message = store.verify_audit_chain()
    assert ok, message
    assert "6 audit events" in message


TAMPERING = {
    "event altered": (
        "audit_events",
        "UPDATE audit_events SET actor = 'mallory' WHERE id = 2",
        "audit event 2",
    ),
    "event removed": ("audit_events", "DELETE FROM audit_events WHERE id = 2", "audit event 2 is missing"),
    "rating altered": ("ratings", "UPDATE ratings SET value = value + 1 WHERE rater = 'r2'", "input batch 1"),
    "item score altered": (
        "item_scores",
        "UPDATE item_scores SET score = 0.5 WHERE pos = 0",
        "input batch 1",
    ),
    "gate altered": (
        "gate_decisions",
        "UPDATE gate_decisions SET status = 'pass', reason = ''",
        "input batch 1",
    ),
    "batch reason altered": (
        "input_batches",
        "UPDATE input_batches SET reason = 'later excuse'",
        "input batch 1",
    ),
    "programme altered": (
        "programs",
        "UPDATE programs SET toml_text = toml_text || '# edited'",
        "does not match its recorded",
    ),
    "score run altered": ("score_runs", "UPDATE score_runs SET seed = 8", "score run 1"),
}


@pytest.mark.parametrize("case", TAMPERING)
def test_audit_chain_detects_tampering(store: Store, program_sha: str, raw: Engine, case: str) -> None:
    table, sql, expected = TAMPERING[case]
    populate(store, program_sha)
    assert store.verify_audit_chain()[0]
    set_guards(raw, table, on=False)
    with raw.begin() as conn:
        assert conn.execute(text(sql)).rowcount >= 1
    set_guards(raw, table, on=True)
    ok, message = store.verify_audit_chain()
    assert not ok
    assert expected in message


def make_items(teams: int, items: int, seed: int = 1) -> Inputs:
    rng = random.Random(seed)
    results = tuple(
        BenchmarkResult(
            team=f"team-{t}",
            benchmark="big",
            item_ids=tuple(f"item-{i:05d}" for i in range(items)),
            scores=tuple(rng.random() if i % 3 else float(i % 2) for i in range(items)),
            clusters=tuple(f"passage-{i // 4}" for i in range(items)) if t % 2 else (),
        )
        for t in range(teams)
    )
    return Inputs(program=P, stage=S, benchmarks=results)


@pytest.mark.slow
def test_item_level_round_trip_at_scale(store: Store, program_sha: str) -> None:
    x = make_items(teams=5, items=20_000)
    do_import(store, program_sha, x)
    got = store.current_inputs(P, S)
    assert got == normalise_inputs(x)
    assert sum(len(b.scores) for b in got.benchmarks) == 100_000
    assert do_import(store, program_sha, x) == 1  # the no-op check compares digests, not items
    assert store.verify_audit_chain()[0]


def test_real_programme_inputs_round_trip(store: Store) -> None:
    program_path = ROOT / "programs" / "k-ai-2026-stage1.toml"
    inputs_path = ROOT / "programs" / "k-ai-2026-stage1.inputs.toml"
    if not (program_path.is_file() and inputs_path.is_file()):
        pytest.skip("stage-1 programme files not present")
    from sovereval.program.load import load_inputs

    text_ = program_path.read_text(encoding="utf-8")
    sha = store.add_program(text_, program_path.name, "alice")
    x = load_inputs(inputs_path)
    do_import(store, sha, x)
    assert store.current_inputs(x.program, x.stage) == normalise_inputs(x)
