"""Demo seeding: the demo programme's benchmark inputs, accounts for every role, assignments, a
declared conflict, dossier documents, and juror invitation links.  Idempotent (skips what exists)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sovereval.program.load import load_inputs
from sovereval.web.accounts import AccountError, Role
from sovereval.web.state import WebState

DEMO = Path(__file__).resolve().parent / "demo"
DEMO_PROGRAM = DEMO / "program.toml"
DEMO_INPUTS = DEMO / "inputs.toml"
DEMO_PASSWORD = "demo-password"
JUROR_STRATA = (
    {"gender": "female", "region": "capital", "age": "20s", "proficiency": "advanced"},
    {"gender": "male", "region": "other", "age": "40s", "proficiency": "intermediate"},
    {"gender": "female", "region": "other", "age": "60+", "proficiency": "beginner"},
    {"gender": "male", "region": "capital", "age": "30s", "proficiency": "intermediate"},
)


@dataclass
class Seeded:
    accounts: dict[str, str] = field(default_factory=dict)  # username -> role
    juror_links: list[str] = field(default_factory=list)  # invitation paths (/invite/<token>)
    password: str = DEMO_PASSWORD


def _user(state: WebState, role: Role, username: str, out: Seeded, profile: dict | None = None) -> int:
    found = state.accounts.by_username(username)
    if found is None:
        token = state.accounts.invite("seed", role, note="demo account", profile=profile or {})
        found = state.accounts.accept(token, username=username, display_name=username.title(),
                                      password=DEMO_PASSWORD)  # fmt: skip
    out.accounts[username] = role
    return found.id


def seed_demo(state: WebState, *, inputs: Path | None = DEMO_INPUTS, experts: int = 5, users: int = 3,
              jurors: int = 2, juror_links: int = 4) -> Seeded:  # fmt: skip
    out = Seeded()
    scope = state.scope
    if inputs is not None:
        loaded = load_inputs(inputs)
        if loaded.program == scope.program_id:
            text = Path(inputs).read_text(encoding="utf-8")
            state.store.import_inputs(loaded, program_sha256=scope.program_sha256, source_name=Path(inputs).name,
                                      source_sha256=hashlib.sha256(text.encode()).hexdigest(), actor="seed")  # fmt: skip
    if state.accounts.by_username("admin") is None:
        try:
            state.accounts.create_admin("admin", DEMO_PASSWORD, actor="seed")
        except AccountError:
            pass
    out.accounts["admin"] = "admin"
    expert_ids = [_user(state, "expert", f"expert{i}", out) for i in range(1, experts + 1)]
    for i in range(1, users + 1):
        _user(state, "user", f"user{i}", out)
    for i in range(1, jurors + 1):
        _user(state, "juror", f"juror{i}", out, JUROR_STRATA[(i - 1) % len(JUROR_STRATA)])
    with state.db.read() as conn:
        have = {(a.expert_id, a.team) for a in state.assignments.list(conn)}
        conflicts = state.assignments.conflicts(conn)
    for e in expert_ids:
        for t in scope.teams:
            if (e, t) not in have:
                state.assignments.assign("seed", e, t)
    if expert_ids and len(scope.teams) > 1 and (expert_ids[-1], scope.teams[-1]) not in conflicts:
        state.assignments.declare_conflict("seed", expert_ids[-1], scope.teams[-1],
                                           "demo: former employee of this team's lead institution")  # fmt: skip
    team = scope.teams[0]
    docs = state.dossiers.documents(team)
    for kind, name in (("technical_report", "report-alpha.md"), ("training_log", "training-log-alpha.md")):
        path = DEMO / name
        if kind not in docs and path.exists():
            state.dossiers.upload("seed", team, kind, name, path.read_bytes())
    for i in range(juror_links):
        token = state.accounts.invite("seed", "juror", note="demo juror link",
                                      profile=JUROR_STRATA[(i + jurors) % len(JUROR_STRATA)])  # fmt: skip
        out.juror_links.append(f"/invite/{token}")
    return out
