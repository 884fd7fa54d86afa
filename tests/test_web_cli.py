"""The web command line (seed-demo, site declarations) and the blind labels."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sovereval.web.cli import app, parse_sites
from sovereval.web.sites import blind_labels


def test_seed_demo_prints_accounts_and_is_idempotent(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["seed-demo", "--db", db, "--base-url", "http://h:1"])
    assert first.exit_code == 0, first.output
    assert "admin" in first.output and "expert5" in first.output and "http://h:1/invite/" in first.output
    again = runner.invoke(app, ["seed-demo", "--db", db])
    assert again.exit_code == 0, again.output  # existing accounts are kept, not duplicated
    from sovereval.store import Store

    with Store(db) as s:
        ok, msg = s.verify_audit_chain()
    assert ok, msg


def test_parse_sites() -> None:
    got = parse_sites(["alpha=llama:smollm2-135m-instruct,cost=0.5,size=0.135", "beta=openai:http://x:1/v1#m"])
    assert got == {"alpha": {"spec": "llama:smollm2-135m-instruct", "cost": "0.5", "size": "0.135"},
                   "beta": {"spec": "openai:http://x:1/v1#m"}}  # fmt: skip
    with pytest.raises(typer.BadParameter):
        parse_sites(["nonsense"])


def test_blind_labels_hide_the_programme_order() -> None:
    teams = tuple(f"t{i}" for i in range(5))
    labels = blind_labels(teams)
    assert len(set(labels.values())) == 5 and labels == blind_labels(teams)
    assert [labels[t] for t in teams] != sorted(labels.values())  # not simply alphabetical by team order
    assert all(t not in label for t, label in labels.items())
