"""The web application's settings (frozen)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from sovereval.arena.abuse import Rules
from sovereval.arena.quotas import Quotas
from sovereval.web.security import RateLimits
from sovereval.web.sites import SiteFactory


@dataclass(frozen=True)
class WebConfig:
    program_path: Path
    db_url: str | None = None
    stage: str | None = None
    expert_panel: str = "expert"
    user_panel: str = "user"
    #: signs CSRF tokens; must survive restarts (else open forms fail after one): $SOVEREVAL_WEB_SECRET,
    #: else a file ``web-secret`` next to the SQLite database (or in .sovereval/), created once
    secret: bytes | None = None
    cookie_secure: bool = False
    limits: RateLimits = field(default_factory=RateLimits)
    arena_rules: Rules = field(default_factory=Rules)
    quotas: Quotas = field(default_factory=Quotas)
    sites: SiteFactory | None = None
    sheet_replicates: int = 1000
    arena_replicates: int = 200
    actor: str = "web"
    #: worker threads for the synchronous handlers (database work); more only adds contention
    threads: int = 8


def resolve_secret(config: WebConfig, db_url: str) -> bytes:
    if config.secret:
        return config.secret
    env = os.environ.get("SOVEREVAL_WEB_SECRET")
    if env:
        return env.encode("utf-8")
    u = make_url(db_url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        path = Path(u.database).parent / "web-secret"
    else:
        path = Path.cwd() / ".sovereval" / "web-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")
