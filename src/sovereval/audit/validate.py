"""Validation panel (§7): derived variants and independent controls, run through the full pipeline.

``run_validation(out, size)`` builds every variant in a scratch folder, fingerprints the references,
runs the battery and decision rule on each (suspect, reference) pair and writes ``validation.json``
and ``validation.md``.  Criteria: zero DERIVED verdicts on negatives; every positive detected;
diagonal permutation p-values on negatives compatible with uniform (Kolmogorov–Smirnov).
``size="quick"`` is the subset run in ``make test``; ``"full"`` adds the CPU fine-tune of SmolLM2,
Gemma-3 and more seeds.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from . import variants as V
from .assets import gemma3_path, minilm_path, smollm2_path
from .battery import N_PERM, run_battery
from .checkpoint import open_checkpoint
from .decision import decide
from .fingerprint import Fingerprint, build_fingerprint
from .stats import block_perm_test


@dataclass(frozen=True)
class Row:
    suspect: str
    reference: str
    derived: bool
    construction: str
    verdict: str
    detected: bool
    correct: bool
    strongest: str
    seconds: float


def _fp(path: Path, name: str, extra: list[str] | None = None) -> Fingerprint:
    with open_checkpoint(path) as c:
        return build_fingerprint(c, name, extra_tokens=extra or [])


def diagonal_null_pvalues(sus: Fingerprint, ref: Fingerprint) -> list[float]:
    """Permutation p-values of same-key blocks (no layer selection), for the uniformity check."""
    rng = np.random.default_rng(1)
    out = []
    for k, b in sus.arrays.items():
        if k.startswith("blk/text.L") and k in ref.arrays and ref.arrays[k].shape == b.shape:
            out.append(10 ** block_perm_test(ref.arrays[k], b, N_PERM, rng).log10_p)
    return out


def run_validation(out: Path, size: str = "quick", log: Any = print) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    work = out / "variants"
    sm = smollm2_path()
    if sm is None:
        raise RuntimeError("SmolLM2 carrier missing: run `python -m sovereval.audit.assets install`")
    t0 = time.time()
    refs: dict[str, tuple[Path, Fingerprint]] = {}
    cases: list[tuple[str, Path, str, bool, str]] = []  # name, path, reference, derived, construction

    def add(name: str, path: Path, ref: str, derived: bool, what: str) -> None:
        cases.append((name, path, ref, derived, what))

    # --- references
    refs["smollm2"] = (sm, _fp(sm, "smollm2"))
    parent, cfg, tok = V.open_state(sm)
    ml = minilm_path()
    if ml is not None:
        refs["minilm"] = (ml, _fp(ml, "minilm"))
    log(f"references ready ({time.time() - t0:.1f}s)")
    # --- positives from SmolLM2
    full = size == "full"
    if full:
        add("D0 copy fp32", V.save_hf(parent, cfg, work / "d0", tok), "smollm2", True, "exact copy, safetensors fp32")
    add("D0 copy bf16", V.save_hf(parent, cfg, work / "d0b", tok, bf16=True), "smollm2", True, "copy cast to bf16")
    add("D1 requant Q8_0", V.save_hf(V.requantise(parent, "Q8_0"), cfg, work / "d1", tok), "smollm2", True,
        "re-quantised Q8_0 (from Q4_1)")
    if full:
        add("D4 permuted", V.save_hf(V.permute_residual_and_neurons(parent, 3), cfg, work / "d4", tok), "smollm2", True,
            "residual permutation + MLP neuron permutation (function-preserving)")
    add("D5 rotated", V.save_hf(V.rotate_residual(parent, 4), cfg, work / "d5", tok), "smollm2", True,
        "norm gains folded + random orthogonal residual rotation")
    add("D7 depth up-scaled", V.save_hf(V.depth_upscale(parent, 6), cfg, work / "d7", tok), "smollm2", True,
        "SOLAR-style: layers 0-23 + 6-29 (48 layers)")
    if full:
        add("D8 layer-pruned", V.save_hf(V.prune_layers(parent, 0.25, 5), cfg, work / "d8", tok), "smollm2", True,
            "25% of layers dropped")
    add("D8 width-pruned", V.save_hf(V.prune_mlp_width(parent, 0.25), cfg, work / "d8w", tok), "smollm2", True,
        "25% of MLP neurons dropped (magnitude)")
    add("D10 transplant", V.save_hf(V.transplant(parent, 6, 4), cfg, work / "d10", tok), "smollm2", True,
        "embedding + first 4 blocks copied into a fresh model")
    if full:
        add("D2' noise 0.5", V.save_hf(V.add_noise(parent, 0.5, 7), cfg, work / "dn", tok), "smollm2", True,
            "every matrix + 50% relative noise (stand-in for long training drift)")
    # --- from-scratch scaled-down panel (negatives) + tiny positives
    tcfg = V.tiny_config()
    data = V.byte_corpus()
    btok = V.bytes_tokenizer()
    steps = 60 if size == "quick" else 200
    seeds = [0, 1, 2] if size == "quick" else [0, 1, 2, 3, 4, 5]
    tiny: dict[int, V.State] = {}
    for s in seeds:
        tiny[s] = V.train(V.init_tiny(tcfg, 100 + s), tcfg, data, steps=steps, lr=3e-3, seed=s)
        V.save_hf(tiny[s], tcfg, work / f"tiny{s}", btok)
    refs["tiny-s0"] = (work / "tiny0", _fp(work / "tiny0", "tiny-s0"))
    for s in seeds[1:]:
        add(f"N1 scratch seed {s}", work / f"tiny{s}", "tiny-s0", False, f"same config, seed {s}, {steps} steps")
    import torch

    tparams = {k: torch.tensor(v) for k, v in tiny[0].items()}
    student = V.train(V.init_tiny(tcfg, 999), tcfg, data, steps=steps, lr=3e-3, seed=9,
                      teacher=lambda x: V.forward(tparams, x, tcfg))  # fmt: skip
    add("N4 distilled student", V.save_hf(student, tcfg, work / "n4", btok), "tiny-s0", False,
        "fresh init trained on the teacher's logits")
    add("N6 untrained init", V.save_hf(V.init_tiny(tcfg, 555), tcfg, work / "n6", btok), "tiny-s0", False,
        "step-0 weights, different seed")
    add("N6 random SmolLM2-shaped", V.save_hf(V.fresh_like(parent, 77), cfg, work / "n6s", tok), "smollm2", False,
        "untrained init with SmolLM2's shapes and tokenizer")
    ft = V.train(tiny[0], tcfg, data[::-1].copy(), steps=steps // 2, lr=1e-3, seed=42)
    add("D2 tiny fine-tune", V.save_hf(ft, tcfg, work / "d2t", btok), "tiny-s0", True,
        f"{steps // 2} AdamW steps at lr 1e-3 on other data")
    # --- cross-family
    if ml is not None:
        add("N5 MiniLM vs SmolLM2", ml, "smollm2", False, "cross-family real pair")
        # Naver analogue: MiniLM encoder as the vision tower of a toy multimodal model
        with open_checkpoint(ml) as c:
            enc = {"vision_tower." + n: c._backend.read(n) for n in c._backend.entries if "encoder.layer" in n}
        mm = V.transplant(tiny[1], 11, 0)
        V.save_hf(mm, tcfg, work / "d10v", btok, extra=enc)
        add("D10 vision transplant", work / "d10v", "minilm", True, "MiniLM encoder reused as a vision tower")
        if full:
            add("N5 toy-multimodal LM vs SmolLM2", work / "d10v", "smollm2", False, "cross-family")
    if size == "full":
        ftp = V.train(parent, cfg, V.greedy_encode(tok, _text()), steps=3, lr=1e-4, seed=1, batch=2, seq=64)
        add("D2 SmolLM2 fine-tune", V.save_hf(ftp, cfg, work / "d2", tok), "smollm2", True, "3 AdamW steps, lr 1e-4")
        add("D9 merge", V.save_hf(V.merge(ftp, V.requantise(parent, "Q4_0")), cfg, work / "d9", tok), "smollm2", True,
            "linear merge of the fine-tune and a Q4_0 re-quantisation")
        gm = gemma3_path()
        if gm is not None:
            refs["gemma3"] = (gm, _fp(gm, "gemma3"))
            add("N5 SmolLM2 vs Gemma-3", sm, "gemma3", False, "cross-family real pair")
            add("N5 Gemma-3 vs SmolLM2", gm, "smollm2", False, "cross-family real pair")
    log(f"panel built: {len(cases)} cases ({time.time() - t0:.1f}s)")
    rows: list[Row] = []
    verdicts: dict[str, Any] = {}
    null_p: list[float] = []
    for name, path, rname, derived, what in cases:
        t = time.time()
        rfp = refs[rname][1]
        with open_checkpoint(path) as c:
            sfp = build_fingerprint(c, name, extra_tokens=rfp.meta["embed_tokens"], source_hashes=False,
                                    confirm_hashes=False)
            res = run_battery(sfp, rfp, c)
        v = decide(res, rfp)
        if not derived:
            null_p += diagonal_null_pvalues(sfp, rfp)
        s = next((c.strongest for c in v.components if c.strongest), None)
        strongest = f"{s['test']}={s['value']:.3f} (log10 p {s['log10_p']:.0f})" if s else "-"
        rows.append(Row(name, rname, derived, what, v.verdict, v.derived, v.derived == derived, strongest,
                        round(time.time() - t, 1)))  # fmt: skip
        verdicts[name] = {"verdict": v.to_json(), "battery": res.to_json()}
        log(f"  {name:32s} vs {rname:8s} → {v.verdict:32s} {'ok' if v.derived == derived else 'WRONG'} "
            f"({time.time() - t:.1f}s)")  # fmt: skip
    ks = sps.kstest(null_p, "uniform") if len(null_p) > 5 else None
    summary = {
        "size": size,
        "n_cases": len(rows),
        "negatives": sum(not r.derived for r in rows),
        "derived_on_negatives": sum((not r.derived) and r.detected for r in rows),
        "positives": sum(r.derived for r in rows),
        "positives_detected": sum(r.derived and r.detected for r in rows),
        "null_pvalues": len(null_p),
        "ks_uniform_stat": float(ks.statistic) if ks else None,
        "ks_uniform_p": float(ks.pvalue) if ks else None,
        "frac_p_below_0.05": float(np.mean(np.array(null_p) < 0.05)) if null_p else None,
        "seconds": round(time.time() - t0, 1),
    }
    summary["passed"] = bool(summary["derived_on_negatives"] == 0 and summary["positives_detected"] == summary["positives"]
                             and (ks is None or ks.pvalue > 1e-3))  # fmt: skip
    report = {"summary": summary, "rows": [asdict(r) for r in rows]}
    (out / "validation.json").write_text(json.dumps({**report, "details": verdicts}, indent=1, default=str))
    (out / "validation.md").write_text(validation_markdown(report))
    return report


def validation_markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [
        f"# Independence audit — validation panel ({s['size']})", "",
        f"* negatives: {s['negatives']}, DERIVED on negatives: **{s['derived_on_negatives']}**",
        f"* positives: {s['positives']}, detected: **{s['positives_detected']}**",
        f"* negative-pair permutation p-values: n = {s['null_pvalues']}, KS vs uniform D = "
        f"{s['ks_uniform_stat']:.3f} (p = {s['ks_uniform_p']:.3g}), share below 0.05 = {s['frac_p_below_0.05']:.3f}"
        if s["ks_uniform_stat"] is not None else "* (too few null p-values for a KS test)",
        f"* criteria met: **{s['passed']}** ({s['seconds']} s)", "",
        "| suspect | reference | truth | construction | verdict | correct | strongest evidence | s |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in report["rows"]:
        lines.append(f"| {r['suspect']} | {r['reference']} | {'derived' if r['derived'] else 'independent'} | "
                     f"{r['construction']} | {r['verdict']} | {'✓' if r['correct'] else '✗'} | {r['strongest']} | "
                     f"{r['seconds']} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _text() -> str:
    import sysconfig

    return (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text()[:6000]
