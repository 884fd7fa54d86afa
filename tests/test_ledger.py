"""The request ledger on both backends: idempotent writes, lookups, runs, append-only, audit events."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from sovereval.store import Store
from sovereval.store.ledger import Entry, Failure, Ledger


def _entry(i: int, run: int | None) -> Entry:
    return Entry(key=f"{i:064x}", run_id=run, model_key="sha256:" + "a" * 64, endpoint="embedded:x", epoch=0,
                 kind="generate", request={"prompt": f"q{i}"}, response={"text": f"a{i}"}, attempts=1, latency_s=0.01)


def test_ledger_roundtrip_and_runs(store: Store) -> None:
    ledger = Ledger(store)
    run = ledger.start_run(benchmark_id="gsm8k", decl_version="d" * 64, model_key="sha256:" + "a" * 64,
                           model_name="m", endpoint="embedded:x", epoch=0, n_items=1200, manifest={"seed": 1},
                           actor="tester")
    ledger.write([_entry(i, run) for i in range(1200)])
    ledger.write([_entry(i, run) for i in range(1190, 1200)])  # a duplicate write is skipped, not an error
    ledger.write([], [Failure("f" * 64, run, "client", 400, "bad request", 1)])
    assert ledger.count() == 1200
    keys = [f"{i:064x}" for i in range(0, 1300, 7)]
    assert ledger.completed_keys(keys) == {k for k in keys if int(k, 16) < 1200}
    got = ledger.responses([f"{5:064x}", "0" * 63 + "z"])
    assert got == {f"{5:064x}": {"text": "a5"}}
    digest = ledger.end_run(run, completed=1200, cached=0, failed=1, duration_s=1.0, actor="tester")
    (info,) = ledger.runs("gsm8k")
    assert info.ended and info.completed == 1200 and info.failed == 1 and info.manifest == {"seed": 1}
    assert [f.status for f in ledger.failures(run)] == [400]
    events = store.audit_events("eval_run", str(run))
    assert [e.action for e in events] == ["start_eval_run", "end_eval_run"]
    assert events[-1].detail["entries_sha256"] == digest and events[-1].detail["entries"] == 1200
    assert store.verify_audit_chain()[0]


def test_ledger_rows_cannot_be_changed(store: Store, db_url: str) -> None:
    ledger = Ledger(store)
    ledger.write([_entry(1, None)])
    raw = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    for sql in ("UPDATE ledger_entries SET response = response", "DELETE FROM ledger_entries"):
        with pytest.raises(DBAPIError, match="append-only"), raw.begin() as conn:
            conn.execute(text(sql))
    raw.dispose()
    assert ledger.responses([f"{1:064x}"]) == {f"{1:064x}": {"text": "a1"}}
