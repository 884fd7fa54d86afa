"""The command line end to end: import -> store -> score -> reports, and bad input that writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovereval.cli import app
from sovereval.scoring.result import Sheet
from sovereval.store import Store
from tests.helpers import STAGE1, STAGE1_INPUTS, write

runner = CliRunner()
P = ["--program", str(STAGE1)]


def run(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_validate_and_show() -> None:
    r = run("program", "validate", str(STAGE1))
    assert "programme 'k-ai-2026'" in r.output and "sha256" in r.output
    r = run("program", "show", str(STAGE1))
    assert "ratio_to_target_capped" in r.output and "re-competition" in r.output


def test_invalid_programme_exits_non_zero_with_location(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.toml", STAGE1.read_text(encoding="utf-8").replace("points = 35", "points = 36", 1))
    r = run("program", "validate", str(bad), ok=False)
    assert r.exit_code == 2
    assert f"{bad}:" in r.output and "points do not add up" in r.output


def test_import_then_score_from_the_store(db: str) -> None:
    run("import", str(STAGE1_INPUTS), *P, "--db", db, "--actor", "tester")
    r = run("score", *P, "--db", db, "-r", "300")
    assert "LG AI Research" in r.output and "90.2*" in r.output and "SELECTED" in r.output
    assert "ELIMINATED" in r.output and "[lo, hi]" in r.output
    with Store(db) as s:
        runs = s.score_runs("k-ai-2026", "stage1")
        assert len(runs) == 1 and runs[0].replicates == 300
        assert s.verify_audit_chain()[0]
        actors = {e.action: e.actor for e in s.audit_events()}
        assert actors["record_score_run"] != "tester" and {a for k, a in actors.items() if k != "record_score_run"} == {"tester"}


def test_bad_inputs_write_nothing(db: str, tmp_path: Path) -> None:
    text = STAGE1_INPUTS.read_text(encoding="utf-8")
    bad = write(tmp_path, "bad-inputs.toml", text.replace('item = "usability", value = 7,', 'item = "usability", value = 9,', 1))
    r = run("import", str(bad), *P, "--db", db, ok=False)
    assert r.exit_code == 2 and "outside the scale [1, 7]" in r.output
    with Store(db) as s:
        assert s.audit_events() == [] and s.batches() == [] and s.programs() == []


def test_changing_recorded_values_needs_a_reason(db: str, tmp_path: Path) -> None:
    run("import", str(STAGE1_INPUTS), *P, "--db", db)
    text = STAGE1_INPUTS.read_text(encoding="utf-8")
    old = '{ team = "ncai", benchmark = "hle", n = 2000, mean = 3.0,'
    assert old in text
    changed = write(tmp_path, "changed.toml", text.replace(old, old.replace("mean = 3.0", "mean = 30.0")))
    r = run("import", str(changed), *P, "--db", db, ok=False)
    assert r.exit_code == 2 and "ncai" in r.output and "hle" in r.output
    run("import", str(changed), *P, "--db", db, "--reason", "answer parser fixed after objection #12")
    r = run("explain", "ncai", *P, "--db", db, "-r", "0")
    assert "30.00%" in r.output


def test_explain_export_and_gate(db: str, tmp_path: Path) -> None:
    r = run("explain", "lg", *P, "--inputs", str(STAGE1_INPUTS), "--db", db, "-r", "200")
    out = r.output
    assert "weighted mean = 92.000% -> 9.200 points" in out
    assert "vs target 80.00% -> ratio 1.025 (capped at 1)" in out
    assert "Gate independence: PASS" in out
    for kind in ("md", "csv", "json", "png"):
        path = tmp_path / f"sheet.{kind}"
        run("export", *P, "--db", db, "-r", "200", "-o", str(path))
        assert path.stat().st_size > 500
    sheet = Sheet.model_validate_json((tmp_path / "sheet.json").read_text(encoding="utf-8"))
    assert sheet.selected == ("lg", "skt", "upstage")
    assert (tmp_path / "sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Naver Cloud: line by line" in (tmp_path / "sheet.md").read_text(encoding="utf-8")
    # overturning a gate decision is recorded with its reason, and changes the selection
    r = run("gate", "set", "naver", *P, "--db", db, "--status", "pass", ok=False)
    assert r.exit_code == 2  # a change without a reason is refused
    run("gate", "set", "naver", *P, "--db", db, "--status", "pass", "--reason", "objection upheld (example)",
        "--evidence", "hearing 2026-01-25")
    r = run("select", *P, "--db", db, "-r", "200")
    assert "Selected (4)" in r.output and "Naver Cloud: SELECTED" in r.output
    with Store(db) as s:
        hist = s.history("k-ai-2026", "stage1", "gate", "independence", "naver")
        assert [h.record.status for h in hist] == ["fail", "pass"]
    r = run("db", "audit", "--db", db)
    assert "audit chain intact" in r.output


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    r = run("demo", "--no-models", "--out", str(tmp_path / "demo"), "-r", "300")
    assert "Reproduction of the release" in r.output and "DIFF" not in r.output
    assert "OK   selected" in r.output
    for kind in ("md", "csv", "json", "png"):
        assert (tmp_path / "demo" / f"stage1-sheet.{kind}").exists()
    rows = (tmp_path / "demo" / "stage1-sheet.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("team,name,column")
    assert json.loads((tmp_path / "demo" / "stage1-sheet.json").read_text(encoding="utf-8"))["seed"] == 20260115
