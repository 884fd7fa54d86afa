"""Ground truth on real PyPI models: the validation panel, verdict cards, the gate (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("safetensors")

from sovereval.audit import assets

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(assets.smollm2_path() is None or assets.minilm_path() is None,
                       reason="run `python -m sovereval.audit.assets install`"),
]


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from sovereval.audit.validate import run_validation

    out = tmp_path_factory.mktemp("audit-validation")
    return out, run_validation(out, "quick", log=lambda *_: None)


def test_validation_criteria(panel: tuple[Path, dict]) -> None:
    out, rep = panel
    s = rep["summary"]
    rows = {r["suspect"]: r for r in rep["rows"]}
    assert s["derived_on_negatives"] == 0, [r for r in rep["rows"] if not r["derived"] and r["detected"]]
    assert s["positives_detected"] == s["positives"], [r for r in rep["rows"] if r["derived"] and not r["detected"]]
    assert s["ks_uniform_p"] > 1e-3
    assert rows["D0 copy bf16"]["verdict"] == "COPY"
    assert rows["D1 requant Q8_0"]["verdict"] == "QUANTISED/RECAST COPY"
    assert rows["D7 depth up-scaled"]["verdict"] == "STRUCTURAL SURGERY"
    assert rows["D8 width-pruned"]["verdict"] == "STRUCTURAL SURGERY"
    assert rows["D10 transplant"]["verdict"] == "PARTIAL REUSE"
    assert rows["D10 vision transplant"]["verdict"] == "PARTIAL REUSE"
    assert rows["D5 rotated"]["verdict"] == "FINE-TUNE / CONTINUED TRAINING"
    assert (out / "validation.md").read_text().count("|") > 50


def test_solar_regression_on_scratch_models(panel: tuple[Path, dict]) -> None:
    """Independently trained models with ones-initialised gains: raw cosine ≈ 1, Pearson ≈ 0, not DERIVED."""
    out, _ = panel
    d = json.loads((out / "validation.json").read_text())["details"]
    for name in ("N1 scratch seed 1", "N1 scratch seed 2"):
        trap = d[name]["battery"]["norm_trap"]
        cos = np.mean([t["raw_cosine"] for t in trap])
        r = np.mean([t["pearson"] for t in trap])
        assert cos > 0.99 and abs(r) < 0.1, (cos, r)
        cos_res = [x for x in d[name]["battery"]["results"] if x["test"] == "norm_raw_cosine"]
        assert cos_res and not any(x["evidence"] for x in cos_res)
        assert d[name]["verdict"]["verdict"] == "NO EVIDENCE vs tested reference"
        assert d[name]["verdict"]["power"]["detected_up_to"] is not None


def test_cards_and_gate(panel: tuple[Path, dict], tmp_path: Path) -> None:
    from sovereval.audit.battery import run_battery
    from sovereval.audit.card import write_artefacts
    from sovereval.audit.checkpoint import open_checkpoint
    from sovereval.audit.decision import decide
    from sovereval.audit.fingerprint import Fingerprint, build_fingerprint
    from sovereval.audit.gate import gate_decision
    from sovereval.audit.registry import add_reference, load_reference

    out, _ = panel
    add_reference(tmp_path / "reg", out / "variants" / "tiny0", "tiny-s0")
    ref = load_reference(tmp_path / "reg", "tiny-s0")
    assert isinstance(ref, Fingerprint)
    for case, derived in (("d2t", True), ("tiny1", False)):
        with open_checkpoint(out / "variants" / case) as c:
            sfp = build_fingerprint(c, case, extra_tokens=ref.meta["embed_tokens"])
            res = run_battery(sfp, ref, c)
        v = decide(res, ref)
        assert v.derived == derived
        art = write_artefacts(tmp_path / case, v, res, {"suspect": case}, "pytest")
        md = art.card_md.read_text()
        assert "Reproducibility" in md and art.sha256 in md and "<html>" in art.card_html.read_text()
        assert {f.name for f in art.figures} >= {"strip.png", "layers.png", "components.png"}
        g = gate_decision(v, "team-a", "independence", art.verdict_json, art.sha256)
        assert g.status == ("fail" if derived else "pass") and art.sha256 in g.evidence
