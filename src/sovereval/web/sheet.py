"""The score sheet as the admin sees it: the scoring engine over the store's current inputs.

Data flows one way: web ratings are imported into the store (panel lock, user export); this module
only reads ``Store.current_inputs`` and calls :func:`sovereval.scoring.engine.score`.  A sheet is cached
by the digest of its inputs (:func:`sovereval.program.records.inputs_digest`, the one the engine puts on
the sheet), and each new one is recorded as a score run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sovereval.program.load import SpecError
from sovereval.program.records import inputs_digest
from sovereval.program.scope import Scope
from sovereval.scoring.engine import DEFAULT_SEED, score
from sovereval.scoring.result import Sheet
from sovereval.store import StoreError
from sovereval.store.webdb import WebDB


@dataclass(frozen=True)
class SheetView:
    sheet: Sheet | None
    problem: str  # why there is no sheet yet
    inputs_sha256: str


class SheetService:
    def __init__(self, db: WebDB, scope: Scope, replicates: int) -> None:
        self.db = db
        self.scope = scope
        self.replicates = replicates
        self._cache: dict[str, Sheet] = {}
        self._lock = threading.Lock()

    def current(self, actor: str) -> SheetView:
        try:
            inputs = self.db.store.current_inputs(self.scope.program_id, self.scope.stage_id)
        except StoreError as e:
            return SheetView(None, str(e), "")
        digest = inputs_digest(inputs)  # the engine's Sheet.inputs_sha256, as the CLI records it
        with self._lock:
            if digest in self._cache:
                return SheetView(self._cache[digest], "", digest)
            try:
                sheet = score(self.scope.program, inputs, replicates=self.replicates, seed=DEFAULT_SEED,
                              program_sha256=self.scope.program_sha256, sensitivity=False)  # fmt: skip
            except SpecError as e:
                return SheetView(None, e.message, digest)
            try:
                self.db.store.record_score_run(
                    program_sha256=self.scope.program_sha256, stage_id=self.scope.stage_id, inputs_sha256=digest,
                    seed=DEFAULT_SEED, replicates=self.replicates, engine_version=sheet.engine_version,
                    result=sheet.model_dump(mode="json"), actor=actor,
                )  # fmt: skip
            except StoreError as e:  # the sheet is still shown; the run is just not recorded
                return SheetView(sheet, f"(score run not recorded: {e})", digest)
            self._cache = {digest: sheet}
            return SheetView(sheet, "", digest)
