"""``sovereval web serve`` / ``sovereval web seed-demo``: the web application from the command line.

Mount with ``app.add_typer(sovereval.web.cli.app, name="web")``; :func:`serve` is the plain function
behind ``sovereval serve``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated

import typer

from sovereval.bench.types import Backend, Sampling
from sovereval.program.load import load_program
from sovereval.web.config import WebConfig
from sovereval.web.seed import DEMO_PROGRAM, seed_demo
from sovereval.web.sites import Site, SiteFactory, blind_labels, open_site_backend

app = typer.Typer(help="The web application: expert panel, user chat sites, blind arena.", no_args_is_help=True)
DEFAULT_MODEL = "llama:smollm2-135m-instruct"
#: declared cost per 1M tokens and size (B params) for the demo's models (illustrative numbers)
KNOWN_DECLARATIONS = {"smollm2-135m-instruct": (0.02, 0.135), "gemma3-270m": (0.04, 0.27)}
#: the demo gives each site its own instructions so that one small model answers differently per team
PERSONAS = (
    "You are a helpful assistant. Answer concisely.",
    "You are a careful assistant. Answer step by step, in short numbered points.",
    "You are a friendly assistant. Answer briefly and plainly.",
)


def parse_sites(specs: Sequence[str]) -> dict[str, dict[str, str]]:
    """``TEAM=SPEC[,cost=X][,size=Y]`` -> {team: {"spec": SPEC, "cost": X, "size": Y}}."""
    out: dict[str, dict[str, str]] = {}
    for s in specs:
        team, _, rest = s.partition("=")
        if not team or not rest:
            raise typer.BadParameter(f"--site {s!r}: use TEAM=SPEC[,cost=X][,size=Y]")
        spec, *opts = rest.split(",")
        entry = {"spec": spec}
        for o in opts:
            k, _, v = o.partition("=")
            entry[k.strip()] = v.strip()
        out[team.strip()] = entry
    return out


def site_factory(teams: Sequence[str], model: str, sites: Mapping[str, Mapping[str, str]],
                 max_tokens: int = 160, seed: int = 0) -> SiteFactory:  # fmt: skip
    """One backend per distinct spec (shared between sites), blind labels, declared cost and size."""

    async def build() -> dict[str, Site]:
        backends: dict[str, Backend] = {}
        labels = blind_labels(tuple(teams), seed)
        out: dict[str, Site] = {}
        for i, team in enumerate(teams):
            entry = sites.get(team, {"spec": model})
            spec = entry["spec"]
            if spec not in backends:
                backends[spec] = await open_site_backend(spec)
            known = KNOWN_DECLARATIONS.get(spec.partition(":")[2].lower(), (None, None))
            cost = float(entry["cost"]) if "cost" in entry else known[0]
            size = float(entry["size"]) if "size" in entry else known[1]
            out[team] = Site(team, labels[team], backends[spec], cost, size, PERSONAS[i % len(PERSONAS)],
                             Sampling(max_tokens=max_tokens, temperature=0.0, seed=seed))  # fmt: skip
        return out

    return build


def make_config(program_path: Path, db_url: str | None, *, model: str = DEFAULT_MODEL,
                sites: Sequence[str] = (), max_tokens: int = 160, secure_cookies: bool = False) -> WebConfig:  # fmt: skip
    program = load_program(program_path).program
    stage = program.stage(None)
    return WebConfig(program_path=program_path, db_url=db_url, cookie_secure=secure_cookies,
                     sites=site_factory(stage.teams, model, parse_sites(sites), max_tokens))  # fmt: skip


def serve(host: str = "127.0.0.1", port: int = 8000, db_url: str | None = None, program_path: Path | str | None = None,
          seed_demo: bool = False, *, model: str = DEFAULT_MODEL, sites: Sequence[str] = (),
          secure_cookies: bool = False) -> None:  # fmt: skip
    """Run the app with uvicorn (one process: rate limits and the sheet cache live in memory)."""
    import uvicorn

    from sovereval.web.app import create_app

    config = make_config(Path(program_path or DEMO_PROGRAM), db_url, model=model, sites=sites,
                         secure_cookies=secure_cookies)  # fmt: skip
    application = create_app(config)
    base = f"http://{host}:{port}"
    if seed_demo:
        seeded = _seed(application.state.web)
        _print_urls(base, seeded)
    uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=False)


def _seed(state: object) -> object:
    return seed_demo(state)  # type: ignore[arg-type]


def _print_urls(base: str, seeded: object) -> None:
    s = seeded  # sovereval.web.seed.Seeded
    typer.echo(f"\nsovereval web demo on {base}   (password for every account: {s.password})")  # type: ignore[attr-defined]
    for username, role in s.accounts.items():  # type: ignore[attr-defined]
        typer.echo(f"  {role:7s} {username:10s} {base}/login")
    typer.echo("  juror invitation links (one-time; optional password):")
    for link in s.juror_links:  # type: ignore[attr-defined]
        typer.echo(f"          {base}{link}")
    typer.echo(f"  admin pages: {base}/admin  {base}/admin/sheet  {base}/admin/arena  {base}/admin/audit\n")


ProgramOpt = Annotated[Path | None, typer.Option("--program", "-p", help="Programme TOML (default: the web demo programme).")]
DbOpt = Annotated[str | None, typer.Option("--db", help="Store URL (default: $SOVEREVAL_DB or sqlite .sovereval/sovereval.db).")]
ModelOpt = Annotated[str, typer.Option("--model", help="Backend for every team without --site: llama:<model>, openai:<url>[#model].")]
SiteOpt = Annotated[list[str] | None, typer.Option("--site", help="TEAM=SPEC[,cost=X][,size=Y] (repeatable).")]


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    program: ProgramOpt = None,
    db: DbOpt = None,
    demo: Annotated[bool, typer.Option("--demo", help="Seed demo accounts and print their URLs.")] = False,
    model: ModelOpt = DEFAULT_MODEL,
    site: SiteOpt = None,
    secure_cookies: Annotated[bool, typer.Option(help="Mark cookies Secure (serve behind HTTPS).")] = False,
) -> None:
    """Start the web application."""
    serve(host, port, db, program, demo, model=model, sites=site or (), secure_cookies=secure_cookies)


@app.command("seed-demo")
def seed_cmd(program: ProgramOpt = None, db: DbOpt = None,
             base_url: Annotated[str, typer.Option(help="Base URL printed in the links.")] = "http://127.0.0.1:8000") -> None:  # fmt: skip
    """Seed demo accounts, assignments, dossiers and juror links into the store (no models needed)."""
    from sovereval.web.state import build_state

    state = build_state(WebConfig(program_path=Path(program or DEMO_PROGRAM), db_url=db))
    try:
        _print_urls(base_url, seed_demo(state))
    finally:
        state.close()


if __name__ == "__main__":
    app()
