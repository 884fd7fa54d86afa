"""`sovereval audit SUSPECT --against REF…` on real model files, and the verdict setting the programme's
independence gate through a real store (SQLite file; PostgreSQL where the `db_url` fixture provides it),
read back by `Store.current_inputs` and acted on by the scoring engine."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("safetensors")

from sovereval.audit import assets
from sovereval.audit.cli import _expand_against, _redact
from sovereval.audit.cli import app as audit_app
from sovereval.cli import app
from sovereval.program.load import load_inputs, load_program, sha256_file
from sovereval.scoring.engine import score
from sovereval.store import Store
from tests.helpers import TOY, TOY_INPUTS, write

MINILM = assets.minilm_path()
SMOL = assets.smollm2_path()
pytestmark = pytest.mark.skipif(MINILM is None or SMOL is None, reason="run `sovereval audit install-models`")

runner = CliRunner()
# the toy programme of tests/helpers.py with an independence gate (a gate failure vacates the slot)
TOY_GATED = TOY + '\n[[stages.gates]]\nid = "independence"\nname = "independence"\npending = "provisional"\n'


@pytest.fixture(scope="module")
def suspect(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bit-for-bit copy of all-MiniLM-L6-v2 (a real model file) under another name: a COPY."""
    assert MINILM is not None
    d = tmp_path_factory.mktemp("suspect") / "team-model"
    d.mkdir()
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        shutil.copy(MINILM / name, d / name)
    return d


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference registry holding SmolLM2-135M (GGUF) as a compact fingerprint."""
    reg = tmp_path_factory.mktemp("registry")
    r = runner.invoke(app, ["audit", "fingerprint", "build", str(SMOL), "--name", "smollm2", "--registry", str(reg)])
    assert r.exit_code == 0, r.output
    return reg


def _programme_with_inputs(db_url: str, tmp: Path) -> Path:
    prog = write(tmp, "toy.toml", TOY_GATED)
    inputs = write(tmp, "toy.inputs.toml", TOY_INPUTS)
    with Store(db_url) as s:
        psha = s.add_program(prog.read_text(encoding="utf-8"), str(prog), "tester")
        s.import_inputs(load_inputs(inputs), program_sha256=psha, source_name=str(inputs),
                        source_sha256=sha256_file(inputs), actor="tester")  # fmt: skip
    return prog


def _evidence(evidence: str) -> list[tuple[Path, str]]:
    out = []
    for link in evidence.split("; "):
        path, sha = link.split("#sha256=")
        out.append((Path(path), sha))
    return out


def test_verdicts_set_the_gate_in_the_store_and_scoring_eliminates(
    db_url: str, tmp_path: Path, suspect: Path, registry: Path
) -> None:
    prog = _programme_with_inputs(db_url, tmp_path)
    # team a: short form, two references after one --against (a model directory and a registry name);
    # the programme given as a TOML file
    r = runner.invoke(app, ["audit", str(suspect), "--against", str(MINILM), "smollm2", "--registry", str(registry),
                            "--db", db_url, "--program", str(prog), "--team", "a", "-o", str(tmp_path / "a"),
                            "--no-figures"])  # fmt: skip
    assert r.exit_code == 1, r.output  # 1 = a DERIVED verdict
    assert "model: COPY" in r.output and "smollm2: INCONCLUSIVE" in r.output
    assert "gate independence/a (toy s1): fail" in r.output
    # team b: the long form, the registry reference only (no shared shapes: INCONCLUSIVE -> pending);
    # the programme given by its id in the store
    r = runner.invoke(app, ["audit", "run", str(suspect), "-a", "smollm2", "--registry", str(registry),
                            "--db", db_url, "-p", "toy", "--stage", "s1", "--team", "b", "-o", str(tmp_path / "b"),
                            "--no-figures"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "gate independence/b (toy s1): pending" in r.output

    with Store(db_url) as s:
        inputs = s.current_inputs("toy", "s1")
        ok, msg = s.verify_audit_chain()
        gate_events = [e for e in s.audit_events() if e.action == "record_gate"]
    assert ok, msg
    assert [e.actor for e in gate_events] == ["sovereval-audit", "sovereval-audit"]
    gates = {(g.gate, g.team): g for g in inputs.gates}
    ga, gb = gates[("independence", "a")], gates[("independence", "b")]
    assert ga.status == "fail" and ga.reason.startswith("independence audit vs model: COPY")
    assert "INCONCLUSIVE" in ga.reason and ga.decided_by == "sovereval-audit" and ga.date
    assert gb.status == "pending" and "INCONCLUSIVE" in gb.reason
    # the evidence links every verdict file with the sha256 of its bytes, and the files say the same
    links = _evidence(ga.evidence)
    assert len(links) == 2
    verdicts = []
    for path, sha in links:
        assert path.is_absolute() and hashlib.sha256(path.read_bytes()).hexdigest() == sha
        doc = json.loads(path.read_text())
        verdicts.append(doc["verdict"]["verdict"])
        assert doc["reproducibility"]["command"].startswith(f"sovereval audit {suspect} --against")
    assert verdicts == ["COPY", "INCONCLUSIVE"]

    sheet = score(load_program(prog).program, inputs, replicates=0, sensitivity=False)
    a, b, c = sheet.row("a"), sheet.row("b"), sheet.row("c")
    assert a.status == "eliminated" and a.gates["independence"] == ga and "independence" in a.reason
    assert "a" not in sheet.selected
    assert b.provisional and c.provisional  # pending / undecided gates count as provisional passes


def test_gate_target_is_checked_before_the_scan(db_url: str, tmp_path: Path, suspect: Path) -> None:
    prog = _programme_with_inputs(db_url, tmp_path)
    base = ["audit", str(suspect), "--against", str(MINILM), "-o", str(tmp_path / "out"), "--db", db_url]
    for extra, message in (
        (["--team", "a"], "give both --program and --team"),
        (["--program", str(prog)], "give both --program and --team"),
        (["--program", str(prog), "--team", "zz"], "team 'zz' is not in stage 's1'"),
        (["--program", str(prog), "--team", "a", "--gate", "licence"], "has no gate 'licence'"),
        (["--program", str(prog), "--team", "a", "--stage", "s9"], "has no stage 's9'"),
        (["--program", "no-such-programme", "--team", "a"], "no programme with id or sha256"),
    ):
        r = runner.invoke(app, base + extra)
        assert r.exit_code == 2, (extra, r.output)
        assert message in r.output, (extra, r.output)
    assert not (tmp_path / "out").exists()  # refused before any scan or artefact
    with Store(db_url) as s:
        assert s.current_inputs("toy", "s1").gates == ()


def test_short_form_and_subcommands(tmp_path: Path, suspect: Path, registry: Path) -> None:
    r = runner.invoke(app, ["audit", "--help"])
    assert r.exit_code == 0 and "run" in r.output and "fingerprint" in r.output and "SUSPECT --against" in r.output
    r = runner.invoke(app, ["audit", "fingerprint", "list", "--registry", str(registry)])
    assert r.exit_code == 0 and "smollm2" in r.output
    r = runner.invoke(app, ["audit", "run", "--help"])
    assert r.exit_code == 0 and "--against" in r.output
    # the same audit in both forms against a registry fingerprint file (.npz); the short form with its
    # options before the suspect, run through the audit app alone
    npz = registry / "smollm2.npz"
    short = runner.invoke(audit_app, ["--against", str(npz), "-o", str(tmp_path / "s"), "--no-figures", str(suspect)])
    long = runner.invoke(app, ["audit", "run", str(suspect), "--against", str(npz), "-o", str(tmp_path / "l"),
                               "--no-figures"])  # fmt: skip
    assert short.exit_code == long.exit_code == 0, (short.output, long.output)
    assert "smollm2: INCONCLUSIVE" in short.output
    vs = json.loads((tmp_path / "s" / "smollm2" / "verdict.json").read_text())
    vl = json.loads((tmp_path / "l" / "smollm2" / "verdict.json").read_text())
    assert vs["verdict"]["verdict"] == vl["verdict"]["verdict"] == "INCONCLUSIVE"
    assert vs["battery"]["results"] == vl["battery"]["results"]
    assert vs["reproducibility"]["command"] == vl["reproducibility"]["command"].replace("/l ", "/s ")
    # a missing reference or suspect is a clear error (exit 2), not a traceback
    r = runner.invoke(app, ["audit", str(suspect), "--against", "no-such-ref", "--registry", str(registry)])
    assert r.exit_code == 2 and "no reference 'no-such-ref'" in r.output
    r = runner.invoke(app, ["audit", str(tmp_path / "missing"), "--against", str(MINILM)])
    assert r.exit_code == 2 and "no such file or directory" in r.output


def test_against_takes_several_references() -> None:
    import typer

    run_cmd = typer.main.get_group(audit_app).commands["run"]

    def ex(*a: str) -> list[str]:
        return _expand_against(list(a), run_cmd)

    assert ex("s", "--against", "r1", "r2", "-o", "out", "r3") == ["s", "--against", "r1", "--against", "r2",
                                                                   "-o", "out", "r3"]  # fmt: skip
    assert ex("s", "-a", "r1", "--no-figures", "--against=r2", "r3") == ["s", "-a", "r1", "--no-figures",
                                                                        "--against=r2", "--against", "r3"]  # fmt: skip
    # before the suspect, the first bare word is the suspect (as click reads it)
    assert ex("--against", "r1", "s") == ["--against", "r1", "s"]
    assert ex("s", "--against", "r1", "--", "x") == ["s", "--against", "r1", "--", "x"]


def test_recorded_command_hides_store_passwords() -> None:
    assert _redact("db", "postgresql+psycopg://alice:s3cret@db.example/sov") == "postgresql+psycopg://alice:***@db.example/sov"
    assert _redact("out", "x") == "x"
