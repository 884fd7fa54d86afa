"""The record tables: writing a batch's records and reading them back, inside the caller's transaction.

Every function takes an open connection.  Benchmark results are stored as a header row plus their item
scores (bulk-inserted; ``COPY`` on PostgreSQL); the other kinds are one row per record.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, insert, select
from sqlalchemy.engine import RowMapping

from sovereval.program.records import (
    Approval,
    BenchmarkResult,
    GateDecision,
    PublishedCell,
    PublishedOutcome,
    Rating,
)
from sovereval.store.canonical import (
    _BENCH_HEADER,
    KEY_FIELDS,
    _bench_row_signature,
    items_sha256,
    record_key,
)
from sovereval.store.database import _new_id, _utc
from sovereval.store.model import KINDS, Batch, Key, Kind, Record, StoreError
from sovereval.store.schema import Base, BenchmarkResultRow, InputBatch, ItemScore

_CHUNK = 5000
_MODEL: dict[Kind, type[Record]] = {
    "benchmark": BenchmarkResult,
    "rating": Rating,
    "gate": GateDecision,
    "approval": Approval,
    "published": PublishedCell,
    "outcome": PublishedOutcome,
}
_TABLE: dict[Kind, Table] = {
    "benchmark": Base.metadata.tables["benchmark_results"],
    "rating": Base.metadata.tables["ratings"],
    "gate": Base.metadata.tables["gate_decisions"],
    "approval": Base.metadata.tables["approvals"],
    "published": Base.metadata.tables["published_cells"],
    "outcome": Base.metadata.tables["published_outcomes"],
}


def _stage_filter(program_id: str, stage_id: str) -> ColumnElement[bool]:
    return (InputBatch.program_id == program_id) & (InputBatch.stage_id == stage_id)


def _insert_records(conn: Connection, batch_id: int, records: Sequence[tuple[Kind, Record]]) -> None:
    for kind, group in itertools.groupby(
        sorted(records, key=lambda kr: KINDS.index(kr[0])), key=lambda kr: kr[0]
    ):
        recs = [r for _, r in group]
        if kind == "benchmark":
            _insert_benchmarks(conn, batch_id, recs)  # type: ignore[arg-type]
        else:
            conn.execute(insert(_TABLE[kind]), [r.model_dump() | {"batch_id": batch_id} for r in recs])


def _insert_benchmarks(conn: Connection, batch_id: int, results: Sequence[BenchmarkResult]) -> None:
    items: list[dict[str, Any]] = []
    for b in results:
        header = {f: getattr(b, f) for f in _BENCH_HEADER}
        row = header | {"batch_id": batch_id, "item_count": len(b.scores), "items_sha256": items_sha256(b)}
        rid = _new_id(conn.execute(insert(BenchmarkResultRow).values(**row)))
        clusters: Sequence[str | None] = b.clusters or [None] * len(b.scores)
        items.extend(
            {"result_id": rid, "pos": i, "item_id": item, "score": score, "cluster": cluster}
            for i, (item, score, cluster) in enumerate(zip(b.item_ids, b.scores, clusters, strict=True))
        )
    if items:
        _bulk_insert_items(conn, items)


def _bulk_insert_items(conn: Connection, items: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":  # COPY is several times faster than executemany here
        cols = ("result_id", "pos", "item_id", "score", "cluster")
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY item_scores ({', '.join(cols)}) FROM STDIN") as copy:
            for it in items:
                copy.write_row([it[c] for c in cols])
        return
    for i in range(0, len(items), _CHUNK):
        conn.execute(insert(ItemScore), items[i : i + _CHUNK])


def _load(conn: Connection, kind: Kind, cond: ColumnElement[bool], key: Key = ()) -> list[tuple[int, Record]]:
    """Records of ``kind`` in batches matching ``cond`` (and key prefix ``key``), oldest batch first."""
    t = _TABLE[kind]
    stmt = select(t).join(InputBatch, t.c.batch_id == InputBatch.id).where(cond)
    for field, value in zip(KEY_FIELDS[kind], key):
        stmt = stmt.where(t.c[field].is_(None) if value is None else t.c[field] == value)
    rows = conn.execute(stmt.order_by(t.c.batch_id, t.c.id)).mappings().all()
    if kind == "benchmark":
        return [(r["batch_id"], b) for r, b in zip(rows, _with_items(conn, rows), strict=True)]
    model = _MODEL[kind]
    return [(r["batch_id"], model.model_validate({f: r[f] for f in model.model_fields})) for r in rows]


def _bench_headers(conn: Connection, cond: ColumnElement[bool]) -> Sequence[RowMapping]:
    t = _TABLE["benchmark"]
    stmt = select(t).join(InputBatch, t.c.batch_id == InputBatch.id).where(cond)
    return conn.execute(stmt.order_by(t.c.batch_id, t.c.id)).mappings().all()


def _with_items(conn: Connection, headers: Sequence[RowMapping]) -> list[BenchmarkResult]:
    """Benchmark records from header rows, with their item scores attached (in stored order)."""
    wanted = [r["id"] for r in headers if r["item_count"] > 0]
    items: dict[int, list[Any]] = {}
    for i in range(0, len(wanted), 500):
        stmt = (
            select(ItemScore.result_id, ItemScore.item_id, ItemScore.score, ItemScore.cluster)
            .where(ItemScore.result_id.in_(wanted[i : i + 500]))
            .order_by(ItemScore.result_id, ItemScore.pos)
        )
        for rid, group in itertools.groupby(conn.execute(stmt), key=lambda row: row[0]):
            items[rid] = list(group)
    out = []
    for r in headers:
        rows = items.get(r["id"], [])
        if len(rows) != r["item_count"]:
            raise StoreError(
                f"benchmark result {r['id']}: {len(rows)} item scores stored, {r['item_count']} expected"
            )
        fields: dict[str, Any] = {f: r[f] for f in _BENCH_HEADER}
        if rows:
            _, ids, scores, clusters = zip(*rows, strict=True)
            fields |= {
                "item_ids": ids,
                "scores": scores,
                "clusters": clusters if clusters[0] is not None else (),
            }
        out.append(BenchmarkResult.model_validate(fields))
    return out


def _current_signatures(
    conn: Connection, cond: ColumnElement[bool]
) -> dict[tuple[Kind, Key], tuple[int, object]]:
    """(batch id, signature) of the current value of every key (later batches overwrite earlier)."""
    out: dict[tuple[Kind, Key], tuple[int, object]] = {}
    for r in _bench_headers(conn, cond):
        out[("benchmark", (r["team"], r["benchmark"]))] = (r["batch_id"], _bench_row_signature(r))
    for kind in KINDS[1:]:
        for bid, rec in _load(conn, kind, cond):
            out[(kind, record_key(kind, rec))] = (bid, rec)
    return out


def _batch_records(conn: Connection, batch_id: int) -> list[tuple[Kind, Record]]:
    cond = InputBatch.id == batch_id
    return [(k, rec) for k in KINDS for _, rec in _load(conn, k, cond)]


def _batch(r: RowMapping) -> Batch:
    return Batch(**{f: r[f] for f in Batch.__dataclass_fields__} | {"created_at": _utc(r["created_at"])})
