"""Raw inputs: importing batches (with conflict checks and reasons), gate decisions, current values, history.

An import is a batch; a record's *key* names the thing it measures, and the current value of a key is
the one from the latest batch that has it.  A changed value needs a reason.  :class:`InputBatches` is a
mixin of :class:`~sovereval.store.Store`.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import insert, select

from sovereval.program.records import GateDecision, Inputs, normalise_inputs
from sovereval.store.canonical import (
    _FIELD,
    KEY_FIELDS,
    _signature,
    content_sha256,
    inputs_sha256,
    key_label,
    record_key,
    records_of,
)
from sovereval.store.chain import _append_event
from sovereval.store.database import Database, _need_actor, _new_id, _now
from sovereval.store.model import KINDS, Batch, ConflictError, HistoryEntry, Key, Kind, Record, StoreError
from sovereval.store.rows import (
    _batch,
    _bench_headers,
    _current_signatures,
    _insert_records,
    _load,
    _stage_filter,
    _with_items,
)
from sovereval.store.schema import InputBatch, Program

_ACTION = {"import": "import_inputs", "gate": "record_gate"}


class InputBatches(Database):
    """The store's input methods."""

    def import_inputs(
        self,
        inputs: Inputs,
        *,
        program_sha256: str,
        source_name: str,
        source_sha256: str,
        actor: str,
        reason: str | None = None,
    ) -> int:
        """Record ``inputs`` as one batch, all or nothing; return the batch id.

        A record whose key is already recorded for this programme + stage with a different value is a
        change: refused with :class:`ConflictError` (naming the keys) unless ``reason`` is given.  Only
        new and changed records are stored; if there are none, nothing is written and the id of the
        latest batch holding these values is returned.
        """
        return self._import(inputs, "import", program_sha256, source_name, source_sha256, actor, reason)

    def record_gate(
        self,
        decision: GateDecision,
        program_id: str,
        stage_id: str,
        actor: str,
        reason: str | None = None,
        *,
        program_sha256: str | None = None,
    ) -> int:
        """Append one gate decision as its own batch (against the latest version of the programme unless
        ``program_sha256`` is given).  Changing a recorded decision needs ``reason``, as for imports."""
        if program_sha256 is None:
            with self._read() as conn:
                program_sha256 = conn.scalar(
                    select(Program.sha256)
                    .where(Program.program_id == program_id)
                    .order_by(Program.id.desc())
                    .limit(1)
                )
            if program_sha256 is None:
                raise StoreError(f"no programme {program_id!r} in the store; add it first")
        inputs = Inputs(program=program_id, stage=stage_id, provenance=decision.provenance, gates=(decision,))
        return self._import(inputs, "gate", program_sha256, "record_gate", None, actor, reason)

    def _import(
        self,
        inputs: Inputs,
        kind: Literal["import", "gate"],
        program_sha256: str,
        source_name: str,
        source_sha256: str | None,
        actor: str,
        reason: str | None,
    ) -> int:
        _need_actor(actor)
        reason = reason.strip() if reason and reason.strip() else None
        p, s = inputs.program, inputs.stage
        incoming = records_of(inputs)
        now = _now()
        with self._write() as conn:
            program_id = conn.scalar(select(Program.program_id).where(Program.sha256 == program_sha256))
            if program_id is None:
                raise StoreError(f"no programme with sha256 {program_sha256!r} in the store; add it first")
            if program_id != p:
                raise StoreError(
                    f"inputs are for program {p!r} but sha256 {program_sha256[:12]} is {program_id!r}"
                )
            current = _current_signatures(conn, _stage_filter(p, s))
            delta: list[tuple[Kind, Record]] = []
            changed: list[str] = []
            holders: list[int] = []
            for k, rec in incoming:
                held = current.get((k, record_key(k, rec)))
                if held is None:
                    delta.append((k, rec))
                elif held[1] != _signature(k, rec):
                    delta.append((k, rec))
                    changed.append(key_label(k, record_key(k, rec)))
                else:
                    holders.append(held[0])
            if changed and reason is None:
                raise ConflictError(p, s, changed)
            if not delta:  # nothing new: a no-op, unless this is the first (empty) batch of the stage
                latest = max(holders, default=None) or conn.scalar(
                    select(InputBatch.id).where(_stage_filter(p, s)).order_by(InputBatch.id.desc()).limit(1)
                )
                if latest is not None:
                    return int(latest)
            digest = content_sha256(delta)
            whole = inputs_sha256(inputs)
            batch_id = _new_id(conn.execute(
                insert(InputBatch).values(
                    program_sha256=program_sha256, program_id=p, stage_id=s, kind=kind, source_name=source_name,
                    source_sha256=source_sha256, provenance=inputs.provenance, note=inputs.note, reason=reason,
                    content_sha256=digest, inputs_sha256=whole, created_at=now, created_by=actor,
                )
            ))  # fmt: skip
            _insert_records(conn, batch_id, delta)
            detail = {
                "program_id": p,
                "stage_id": s,
                "program_sha256": program_sha256,
                "kind": kind,
                "provenance": inputs.provenance,
                "note": inputs.note,
                "source_name": source_name,
                "source_sha256": source_sha256,
                "content_sha256": digest,
                "inputs_sha256": whole,
                "counts": {k: n for k in KINDS if (n := sum(1 for kk, _ in delta if kk == k))},
                "unchanged": len(incoming) - len(delta),
                "superseded": changed,
                "reason": reason,
            }
            _append_event(conn, actor, _ACTION[kind], "input_batch", str(batch_id), detail, now)
            return batch_id

    def current_inputs(self, program_id: str, stage_id: str) -> Inputs:
        """For every key, the value from the latest batch that has it; records sorted by key.

        The inputs-level ``provenance`` and ``note`` are those of the latest import batch that stored
        anything (they are batch metadata, not keyed values: an import that changes only them is a no-op).
        """
        cond = _stage_filter(program_id, stage_id)
        with self._read() as conn:
            stmt = select(InputBatch.kind, InputBatch.provenance, InputBatch.note).where(cond)
            batches = conn.execute(stmt.order_by(InputBatch.id)).all()
            if not batches:
                raise StoreError(f"no inputs recorded for program {program_id!r} stage {stage_id!r}")
            latest: dict[Kind, dict[Key, Record]] = {k: {} for k in KINDS}
            for kind in KINDS:
                if kind == "benchmark":
                    headers = {(r["team"], r["benchmark"]): r for r in _bench_headers(conn, cond)}
                    for b in _with_items(conn, list(headers.values())):
                        latest[kind][record_key(kind, b)] = b
                else:
                    for _, rec in _load(conn, kind, cond):
                        latest[kind][record_key(kind, rec)] = rec
        imports = [b for b in batches if b.kind == "import"]
        top = {"provenance": imports[-1].provenance, "note": imports[-1].note} if imports else {}
        outcome = next(iter(latest["outcome"].values()), None)
        fields = {_FIELD[k]: tuple(latest[k].values()) for k in KINDS[:-1]}
        data = {"program": program_id, "stage": stage_id, "outcome": outcome} | top | fields
        return normalise_inputs(Inputs.model_validate(data))

    def batches(self, program_id: str | None = None, stage_id: str | None = None) -> list[Batch]:
        stmt = select(InputBatch).order_by(InputBatch.id)
        if program_id is not None:
            stmt = stmt.where(InputBatch.program_id == program_id)
        if stage_id is not None:
            stmt = stmt.where(InputBatch.stage_id == stage_id)
        with self._read() as conn:
            return [_batch(r) for r in conn.execute(stmt).mappings()]

    def history(self, program_id: str, stage_id: str, kind: Kind, *key: str | None) -> list[HistoryEntry]:
        """Every recorded value of ``kind`` records whose key starts with ``key``, oldest first.

        E.g. ``history(p, s, "gate", "independence", "team-a")`` or ``history(p, s, "rating", "panel-1")``.
        """
        if kind not in KINDS:
            raise StoreError(f"unknown record kind {kind!r}; one of {KINDS}")
        if len(key) > len(KEY_FIELDS[kind]):
            raise StoreError(f"{kind} keys have {len(KEY_FIELDS[kind])} parts {KEY_FIELDS[kind]}, got {key}")
        cond = _stage_filter(program_id, stage_id)
        with self._read() as conn:
            batches = {
                b.id: b for b in (_batch(r) for r in conn.execute(select(InputBatch).where(cond)).mappings())
            }
            loaded = _load(conn, kind, cond, key)
        last: dict[Key, int] = {}
        for i, (_, rec) in enumerate(loaded):
            last[record_key(kind, rec)] = i
        return [
            HistoryEntry(batches[bid], kind, record_key(kind, rec), rec, last[record_key(kind, rec)] == i)
            for i, (bid, rec) in enumerate(loaded)
        ]
