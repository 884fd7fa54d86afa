"""Programmes: storing a programme's TOML text (content-addressed by its SHA-256) and reading it back.

:class:`Programs` is a mixin of :class:`~sovereval.store.Store`.
"""

from __future__ import annotations

import tomllib

from sqlalchemy import insert, select

from sovereval.store.canonical import sha256_text
from sovereval.store.chain import _append_event
from sovereval.store.database import Database, _need_actor, _now, _utc
from sovereval.store.model import ProgramInfo, StoreError
from sovereval.store.schema import Program


class Programs(Database):
    """The store's programme methods."""

    def add_program(
        self,
        toml_text: str,
        source_name: str,
        actor: str,
        *,
        program_id: str | None = None,
        version: str | None = None,
    ) -> str:
        """Store a programme's TOML text; return its SHA-256.

        ``program_id`` and ``version`` default to the TOML's top-level ``id`` and ``version``.
        Idempotent: identical text returns the existing SHA-256 and writes nothing (no audit event).
        """
        _need_actor(actor)
        try:
            data = tomllib.loads(toml_text)
        except tomllib.TOMLDecodeError as e:
            raise StoreError(f"{source_name}: not valid TOML: {e}") from None
        program_id = program_id or data.get("id")
        version = version or (str(data["version"]) if "version" in data else None)
        if not isinstance(program_id, str) or not program_id or not version:
            raise StoreError(f"{source_name}: the programme needs top-level 'id' and 'version'")
        sha = sha256_text(toml_text)
        now = _now()
        with self._write() as conn:
            if conn.scalar(select(Program.id).where(Program.sha256 == sha)) is not None:
                return sha
            conn.execute(
                insert(Program).values(
                    program_id=program_id, version=version, sha256=sha, toml_text=toml_text,
                    source_name=source_name, created_at=now, created_by=actor,
                )
            )  # fmt: skip
            detail = {"program_id": program_id, "version": version, "sha256": sha, "source_name": source_name}
            _append_event(conn, actor, "add_program", "program", sha, detail, now)
        return sha

    def get_program_text(self, ref: str) -> str:
        """The TOML text by exact SHA-256, or the latest stored version of a programme id."""
        with self._read() as conn:
            found = conn.scalar(select(Program.toml_text).where(Program.sha256 == ref))
            if found is None:
                found = conn.scalar(
                    select(Program.toml_text)
                    .where(Program.program_id == ref)
                    .order_by(Program.id.desc())
                    .limit(1)
                )
        if found is None:
            raise StoreError(f"no programme with id or sha256 {ref!r} in the store")
        return found

    def programs(self, program_id: str | None = None) -> list[ProgramInfo]:
        stmt = select(Program).order_by(Program.id)
        if program_id is not None:
            stmt = stmt.where(Program.program_id == program_id)
        with self._read() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [
            ProgramInfo(r["sha256"], r["program_id"], r["version"], r["source_name"], _utc(r["created_at"]),
                        r["created_by"])
            for r in rows
        ]  # fmt: skip
