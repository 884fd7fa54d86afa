"""Score runs: the result of one scoring of a programme stage's inputs, with its seed and engine version.

:class:`ScoreRuns` is a mixin of :class:`~sovereval.store.Store`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select

from sovereval.store.canonical import canonical_json, sha256_text
from sovereval.store.chain import _append_event
from sovereval.store.database import Database, _need_actor, _new_id, _now, _utc
from sovereval.store.model import ScoreRunInfo, StoreError
from sovereval.store.schema import Program, ScoreRun


class ScoreRuns(Database):
    """The store's score-run methods."""

    def record_score_run(
        self,
        *,
        program_sha256: str,
        stage_id: str,
        inputs_sha256: str,
        seed: int,
        replicates: int,
        engine_version: str,
        result: Mapping[str, Any],
        actor: str,
    ) -> int:
        """Record one scoring run (``result`` must be JSON: no NaN/infinity); return its id."""
        _need_actor(actor)
        result_json = canonical_json(result)
        result_sha = sha256_text(result_json)
        now = _now()
        with self._write() as conn:
            program_id = conn.scalar(select(Program.program_id).where(Program.sha256 == program_sha256))
            if program_id is None:
                raise StoreError(f"no programme with sha256 {program_sha256!r} in the store")
            run_id = _new_id(conn.execute(
                insert(ScoreRun).values(
                    program_sha256=program_sha256, program_id=program_id, stage_id=stage_id,
                    inputs_sha256=inputs_sha256, seed=seed, replicates=replicates, engine_version=engine_version,
                    result=json.loads(result_json), result_sha256=result_sha, created_at=now, created_by=actor,
                )
            ))  # fmt: skip
            detail = {
                "program_id": program_id,
                "stage_id": stage_id,
                "program_sha256": program_sha256,
                "inputs_sha256": inputs_sha256,
                "seed": seed,
                "replicates": replicates,
                "engine_version": engine_version,
                "result_sha256": result_sha,
            }
            _append_event(conn, actor, "record_score_run", "score_run", str(run_id), detail, now)
            return run_id

    def score_runs(self, program_id: str, stage_id: str) -> list[ScoreRunInfo]:
        stmt = select(ScoreRun).where(ScoreRun.program_id == program_id, ScoreRun.stage_id == stage_id)
        with self._read() as conn:
            rows = conn.execute(stmt.order_by(ScoreRun.id)).mappings().all()
        return [
            ScoreRunInfo(
                **{f: r[f] for f in ScoreRunInfo.__dataclass_fields__} | {"created_at": _utc(r["created_at"])}
            )
            for r in rows
        ]
