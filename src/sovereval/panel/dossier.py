"""A team's dossier as the experts see it: uploaded documents plus what the store already knows.

Uploaded (latest per kind): the technical report (PDF or Markdown) and the training-log summary
(Markdown or text).  From the store: the team's benchmark results (the benchmark sheet rows) and its
gate decisions (the independence verdict card).  PDF is served as a download, never rendered inline;
Markdown is rendered sanitised (:mod:`sovereval.web.markdown`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from sovereval.panel.assign import PanelError
from sovereval.program.records import BenchmarkResult, GateDecision
from sovereval.program.scope import Scope
from sovereval.store import StoreError
from sovereval.store.web_schema import DossierDocument
from sovereval.store.webdb import WebDB, now, utc

KINDS: dict[str, str] = {
    "technical_report": "Technical report",
    "training_log": "Training-log summary",
}
MAX_BYTES = 20 * 1024 * 1024
MEDIA = {".pdf": "application/pdf", ".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain"}


@dataclass(frozen=True)
class Document:
    id: int
    team: str
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    at: datetime
    by: str


@dataclass(frozen=True)
class Dossier:
    team: str
    documents: dict[str, Document]
    benchmarks: tuple[BenchmarkResult, ...]
    gates: tuple[GateDecision, ...]


def media_type_of(filename: str, content: bytes) -> str:
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    media = MEDIA.get(suffix)
    if media is None:
        raise PanelError(f"{filename}: upload a .pdf, .md or .txt file")
    if media == "application/pdf" and not content.startswith(b"%PDF-"):
        raise PanelError(f"{filename}: not a PDF file")
    if media != "application/pdf":
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise PanelError(f"{filename}: text files must be UTF-8") from None
    return media


class Dossiers:
    def __init__(self, db: WebDB, scope: Scope) -> None:
        self.db = db
        self.scope = scope

    def upload(self, actor: str, team: str, kind: str, filename: str, content: bytes) -> int:
        if team not in self.scope.teams:
            raise PanelError(f"team {team!r} is not in stage {self.scope.stage_id!r}")
        if kind not in KINDS:
            raise PanelError(f"unknown document kind {kind!r}")
        if not content:
            raise PanelError("the file is empty")
        if len(content) > MAX_BYTES:
            raise PanelError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
        filename = filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "document"
        media = media_type_of(filename, content)
        digest = hashlib.sha256(content).hexdigest()
        at = now()
        with self.db.write() as conn:
            doc_id = WebDB.insert_id(conn, insert(DossierDocument).values(
                program_id=self.scope.program_id, stage_id=self.scope.stage_id, team=team, kind=kind,
                filename=filename, media_type=media, content=content, sha256=digest, created_at=at, created_by=actor,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "dossier_upload", "dossier_document", str(doc_id),
                        {"team": team, "kind": kind, "filename": filename, "sha256": digest, "bytes": len(content)},
                        at)  # fmt: skip
        return doc_id

    def documents(self, team: str) -> dict[str, Document]:
        stmt = (
            select(DossierDocument.id, DossierDocument.team, DossierDocument.kind, DossierDocument.filename,
                   DossierDocument.media_type, DossierDocument.sha256, DossierDocument.created_at,
                   DossierDocument.created_by, DossierDocument.content)
            .where(DossierDocument.program_id == self.scope.program_id, DossierDocument.stage_id == self.scope.stage_id,
                   DossierDocument.team == team)
            .order_by(DossierDocument.id)
        )  # fmt: skip
        out: dict[str, Document] = {}
        with self.db.read() as conn:
            for r in conn.execute(stmt):
                out[r.kind] = Document(r.id, r.team, r.kind, r.filename, r.media_type, len(r.content), r.sha256,
                                       utc(r.created_at), r.created_by)  # fmt: skip
        return out

    def content(self, team: str, doc_id: int) -> tuple[Document, bytes] | None:
        with self.db.read() as conn:
            r = conn.execute(select(DossierDocument).where(
                DossierDocument.id == doc_id, DossierDocument.team == team,
                DossierDocument.program_id == self.scope.program_id, DossierDocument.stage_id == self.scope.stage_id,
            )).first()  # fmt: skip
        if r is None:
            return None
        doc = Document(r.id, r.team, r.kind, r.filename, r.media_type, len(r.content), r.sha256,
                       utc(r.created_at), r.created_by)  # fmt: skip
        return doc, bytes(r.content)

    def dossier(self, team: str) -> Dossier:
        try:
            inputs = self.db.store.current_inputs(self.scope.program_id, self.scope.stage_id)
            benchmarks = tuple(b for b in inputs.benchmarks if b.team == team)
            gates = tuple(g for g in inputs.gates if g.team == team)
        except StoreError:
            benchmarks, gates = (), ()
        return Dossier(team, self.documents(team), benchmarks, gates)
