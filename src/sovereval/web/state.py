"""Everything a request handler needs, built once per app from a :class:`WebConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anyio

from sovereval.arena.battles import Arena
from sovereval.panel.assign import Assignments
from sovereval.panel.dossier import Dossiers
from sovereval.panel.scores import PanelBook
from sovereval.program.load import load_program
from sovereval.program.scope import Scope, make_scope
from sovereval.store import Store
from sovereval.store.webdb import WebDB
from sovereval.web.accounts import Accounts
from sovereval.web.config import WebConfig, resolve_secret
from sovereval.web.security import RateLimiter
from sovereval.web.sheet import SheetService
from sovereval.web.sites import Site
from sovereval.web.userpanel import UserPanel


@dataclass
class WebState:
    config: WebConfig
    store: Store
    db: WebDB
    scope: Scope
    secret: bytes
    accounts: Accounts
    assignments: Assignments
    book: PanelBook
    dossiers: Dossiers
    users: UserPanel
    arena: Arena | None
    sheets: SheetService
    limiter: RateLimiter
    sites: dict[str, Site]

    async def attach_sites(self) -> None:
        """Open the teams' model backends (async: HTTP backends connect) and the sites that use them."""
        if self.config.sites is None:
            return
        self.sites = dict(await self.config.sites())
        self.users = UserPanel(self.db, self.scope, self.sites)
        await anyio.to_thread.run_sync(self.users.record_cards, self.config.actor)
        self.arena = make_arena(self.config, self.db, self.scope, self.sites)

    async def detach_sites(self) -> None:
        for site in self.sites.values():
            await site.backend.aclose()

    def close(self) -> None:
        self.store.close()


def make_arena(config: WebConfig, db: WebDB, scope: Scope, sites: dict[str, Site]) -> Arena | None:
    teams = tuple(t for t in scope.teams if t in sites)
    return Arena(db, scope, teams, rules=config.arena_rules, quotas=config.quotas) if len(teams) >= 2 else None


def build_state(config: WebConfig) -> WebState:
    loaded = load_program(Path(config.program_path))
    store = Store(config.db_url)
    sha = store.add_program(loaded.text, Path(loaded.path).name, config.actor)
    scope = make_scope(loaded.program, sha, config.stage, config.expert_panel, config.user_panel)
    db = WebDB(store)
    assignments = Assignments(db, scope)
    sites: dict[str, Site] = {}
    users = UserPanel(db, scope, sites)
    arena = None
    return WebState(
        config=config, store=store, db=db, scope=scope,
        secret=resolve_secret(config, store.url.render_as_string(hide_password=False)),
        accounts=Accounts(db), assignments=assignments, book=PanelBook(db, scope, assignments),
        dossiers=Dossiers(db, scope), users=users, arena=arena,
        sheets=SheetService(db, scope, config.sheet_replicates), limiter=RateLimiter(), sites=sites,
    )  # fmt: skip
