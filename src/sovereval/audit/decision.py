"""Decision rule (§5.3) and verdict classes.

A component is DERIVED from the reference only if all hold:

1. significance — an evidence-grade test has p below ``ALPHA / M`` (Bonferroni over every test run,
   layer-map cells included); permutation tests also need z > 8 against their permutation null;
2. replication — a second significant test from a *different parameter family* (attention vs MLP vs
   norm gains; the two vocabulary halves for a single-matrix component); an exact-hash match of two or
   more tensors suffices alone;
3. effect — the statistic is ``MARGIN`` × beyond the largest value seen on known-independent pairs;
4. coherence — the hits form a known derivation pattern (layer-map diagonal, two stripes, diagonal
   with gaps, a contiguous block); isolated hits are REVIEW, never DERIVED.

Raw cosine of norm gains, config equality, tokenizer overlap and Procrustes-aligned similarity are
never evidence.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .battery import N_PERM, BatteryResult, TestResult
from .envelope import ENVELOPE, MARGIN, beyond_envelope, required_effect
from .fingerprint import Fingerprint
from .stats import block_perm_test, log10_bonferroni

ALPHA = 1e-6
Z_MIN = 8.0
POWER_LEVELS = (0.1, 0.3, 1.0, 2.0, 3.0, 4.0)

COPY = "COPY"
QUANTISED_COPY = "QUANTISED/RECAST COPY"
FINE_TUNE = "FINE-TUNE / CONTINUED TRAINING"
SURGERY = "STRUCTURAL SURGERY"
PARTIAL = "PARTIAL REUSE"
NO_EVIDENCE = "NO EVIDENCE vs tested reference"
INCONCLUSIVE = "INCONCLUSIVE"
DERIVED_CLASSES = frozenset({COPY, QUANTISED_COPY, FINE_TUNE, SURGERY, PARTIAL})
PERM_TESTS = frozenset({"block_pearson", "norm_pearson", "embed_pearson"})


@dataclass(frozen=True)
class ComponentDecision:
    component: str
    params: int
    status: str  # DERIVED | REVIEW | NO EVIDENCE | NOT TESTED
    families: tuple[str, ...]
    pattern: str
    layer_pairs: tuple[tuple[int, int], ...]
    strongest: dict[str, Any] | None
    second: dict[str, Any] | None
    reasons: tuple[str, ...]


@dataclass
class Verdict:
    suspect: str
    reference: str
    verdict: str
    summary: str
    components: list[ComponentDecision]
    threshold_log10_p: float
    n_tests: int
    power: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def derived(self) -> bool:
        return self.verdict in DERIVED_CLASSES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _significant(r: TestResult, thr: float) -> bool:
    if not r.evidence or r.log10_p >= thr:
        return False
    return not (r.test in PERM_TESTS and r.z <= Z_MIN)


def _effect_ok(r: TestResult) -> bool:
    if r.test == "exact_hash":
        return True
    return r.value >= required_effect(r.test) if r.test in ENVELOPE else False


def _layer_of(key: str) -> int | None:
    for part in key.split("."):
        if part.startswith("L") and part[1:].isdigit():
            return int(part[1:])
    return None


def classify_pattern(pairs: list[tuple[int, int]], n_sus: int, n_ref: int) -> str:
    """Name the layer-map pattern formed by (suspect layer, reference layer) hits."""
    if len({i for i, _ in pairs}) < 2:
        return "isolated"
    best: dict[int, int] = {}
    for i, j in sorted(pairs):
        best.setdefault(i, j)
    seq = sorted(best.items())
    runs: list[list[tuple[int, int]]] = [[seq[0]]]
    for (i0, j0), (i1, j1) in itertools.pairwise(seq):
        if i1 == i0 + 1 and j1 == j0 + 1:
            runs[-1].append((i1, j1))
        else:
            runs.append([(i1, j1)])
    if any(len(r) < 2 for r in runs) and sum(len(r) for r in runs if len(r) >= 2) < 0.8 * len(seq):
        return "scattered"
    coverage = len(seq) / max(1, n_sus)
    js = [j for _, j in seq]
    if all(i == j for i, j in seq) and coverage == 1.0 and n_sus == n_ref:
        return "diagonal"
    if len(runs) >= 2 and len(set(js)) < len(js):
        return "two stripes (depth up-scaling)"
    if all(b > a for a, b in itertools.pairwise(js)) and coverage >= 0.8 and n_sus < n_ref:
        return "diagonal with gaps (layer pruning)"
    if all(b > a for a, b in itertools.pairwise(js)) and coverage >= 0.999:
        return "diagonal"
    if coverage < 0.999 and len(runs) == 1:
        return "block (transplanted layers)"
    return "scattered"


def _brief(r: TestResult | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"test": r.test, "family": r.family, "suspect": r.suspect, "reference": r.reference,
            "value": r.value, "null_mean": r.null_mean, "null_sd": r.null_sd, "null_max": r.null_max,
            "z": r.z, "log10_p": r.log10_p, "note": r.note}  # fmt: skip


def decide(b: BatteryResult, ref: Fingerprint | None = None) -> Verdict:
    m = max(1, b.n_tests + len([r for r in b.results if r.test == "exact_hash"]))
    thr = log10_bonferroni(ALPHA, m)
    comps: list[ComponentDecision] = []
    by_comp: dict[str, list[TestResult]] = {}
    for r in b.results:
        by_comp.setdefault(r.component, []).append(r)
    lm = b.layer_map.get("text", {})
    n_sus = len(lm.get("suspect_layers", [])) or int(b.config["suspect"].get("n_layers", 0))
    n_ref = len(lm.get("reference_layers", [])) or int(b.config["reference"].get("n_layers", 0))
    review: list[str] = []
    for comp in sorted(set(b.components) | set(by_comp)):
        rs = by_comp.get(comp, [])
        ev = [r for r in rs if r.evidence]
        sig = [r for r in ev if _significant(r, thr)]
        strong = [r for r in sig if _effect_ok(r)]
        fams = tuple(sorted({r.family for r in strong}))
        hash_hits = [r for r in strong if r.test == "exact_hash"]
        reasons: list[str] = []
        pairs: list[tuple[int, int]] = []
        for r in [*strong, *(x for x in rs if x.test == "exact_hash_tensor")]:
            i, j = _layer_of(r.suspect), _layer_of(r.reference)
            if i is not None and j is not None and r.test != "exact_hash":
                pairs.append((i, j))
        if comp in ("blocks", "vision", "audio", "projector"):
            tower = "text" if comp == "blocks" else comp
            tl = b.layer_map.get(tower, {})
            pattern = classify_pattern(pairs, len(tl.get("suspect_layers", [])) or n_sus,
                                       len(tl.get("reference_layers", [])) or n_ref) if pairs else "none"  # fmt: skip
            coherent = pattern not in ("isolated", "scattered", "none")
        else:
            pattern = "whole matrix" if strong else "none"
            coherent = True
        exact_ok = bool(hash_hits) and hash_hits[0].value > 0 and "tensors" in hash_hits[0].suspect and \
            int(hash_hits[0].suspect.split()[0]) >= (2 if comp in ("blocks", "vision", "audio", "projector") else 1)  # fmt: skip
        if hash_hits and comp in ("blocks", "vision", "audio", "projector") and pattern in ("none", "isolated"):
            pattern, coherent = "exact copies", True
        if not ev:
            status = "NOT TESTED"
            reasons.append("no applicable evidence-grade test (shapes or vocabularies differ)")
        elif exact_ok or (len(fams) >= 2 and coherent):
            status = "DERIVED"
            reasons.append("exact copies of non-trivial tensors" if exact_ok else
                           f"significant in {len(fams)} independent families ({', '.join(fams)}), "
                           f"effect ≥ {MARGIN:g}× the negative envelope, pattern: {pattern}")  # fmt: skip
        elif [r for r in sig if beyond_envelope(r.test, r.value)]:
            status = "REVIEW"
            if len(fams) < 2:
                reasons.append(f"only {len(fams)} family with a strong effect ({', '.join(fams) or 'none'})")
            if not coherent:
                reasons.append(f"hits do not form a derivation pattern ({pattern})")
            if len(strong) < len(sig):
                reasons.append(f"{len(sig) - len(strong)} significant test(s) with an effect inside the envelope")
            review.append(comp)
        else:
            status = "NO EVIDENCE"
        top = sorted(strong or sig or ev, key=lambda r: r.log10_p)
        second = next((r for r in top if r.family != top[0].family), None) if top else None
        comps.append(ComponentDecision(
            comp, int(b.components.get(comp, 0)), status, fams, pattern, tuple(sorted(set(pairs))),
            _brief(top[0]) if top else None, _brief(second), tuple(reasons),
        ))  # fmt: skip
    v = Verdict(b.suspect, b.reference, INCONCLUSIVE, "", comps, thr, m)
    _classify(v, b)
    if not v.derived:
        v.power = power_check(ref, thr) if ref is not None else {"detected_up_to": None}
        if v.verdict == NO_EVIDENCE and v.power.get("detected_up_to") is None:
            v.verdict = INCONCLUSIVE
            v.notes.append("no synthetic derivative of the reference was detected: the tests lack power")
    if review:
        v.notes.append("REVIEW (significant but not meeting every rule): " + ", ".join(review))
    v.summary = _summary(v, b)
    return v


def _classify(v: Verdict, b: BatteryResult) -> None:
    d = {c.component: c for c in v.components}
    derived = [c for c in v.components if c.status == "DERIVED"]
    rotated = bool(b.rotation.get("applied"))
    main = [c for c in v.components if c.component in ("embedding", "blocks", "lm_head")
            and c.status != "NOT TESTED" and not (rotated and c.component == "embedding")]  # fmt: skip
    if not derived:
        if any(c.status == "REVIEW" for c in v.components):
            v.verdict = INCONCLUSIVE
        elif not any(c.status != "NOT TESTED" for c in v.components):
            v.verdict = INCONCLUSIVE
            v.notes.append("not comparable: no shared tensor shapes or vocabulary, so no weight test applies "
                           "(a width-changed derivative would need activation tests)")  # fmt: skip
        else:
            v.verdict = NO_EVIDENCE
        return
    blocks = d.get("blocks")
    if blocks is None or blocks.status != "DERIVED" or not main or any(c.status != "DERIVED" for c in main):
        v.verdict = PARTIAL
        if blocks is not None and blocks.pattern.startswith("block"):
            v.notes.append(f"transplanted layers: {sorted({i for i, _ in blocks.layer_pairs})}")
        return
    ex = b.exact
    if ex.get("same_key_sets") and ex.get("same_key_equal") == ex.get("n_suspect_nontrivial") and \
            ex.get("n_matched") == ex.get("n_suspect_nontrivial"):  # fmt: skip
        v.verdict = COPY
        return
    widths = b.shared_shapes < len(b.components) or any(r.test == "order_spearman" for r in b.results)
    reshaped = widths and any(
        r.test == "order_spearman" and r.component == "blocks" for r in b.results
    )
    if blocks.pattern.startswith("block"):
        v.verdict = PARTIAL
        v.notes.append(f"transplanted layers: {sorted({i for i, _ in blocks.layer_pairs})}")
        return
    if blocks.pattern.startswith(("two stripes", "diagonal with gaps")) or reshaped:
        v.verdict = SURGERY
        if reshaped:
            v.notes.append("tensor widths differ from the reference (pruned or widened)")
        return
    tol = b.tolerance
    mx, vec = tol.get("max_rel_rmse_matrices"), tol.get("max_rel_diff_vectors")
    if mx is not None and mx < 0.35 and (vec is None or vec < 2e-3) and not rotated:
        v.verdict = QUANTISED_COPY
        return
    v.verdict = FINE_TUNE
    if rotated:
        v.notes.append("re-parameterised derivative: a residual rotation/permutation was undone first")


def power_check(ref: Fingerprint, thr: float, levels: tuple[float, ...] = POWER_LEVELS) -> dict[str, Any]:
    """Largest relative perturbation ‖Δ‖/‖W‖ of the reference that the block test still calls derived.

    Synthetic suspects: every stored reference sub-block plus isotropic noise of relative size ε (a crude
    stand-in for training drift), tested with the same permutation test, threshold and envelope."""
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"levels": [], "detected_up_to": None}
    keys = [k for k in ref.arrays if k.startswith("blk/text.L")]
    keys = [keys[i] for i in np.linspace(0, len(keys) - 1, min(len(keys), 48)).astype(int)] if keys else keys
    if not keys:
        return out
    for eps in levels:
        fams: set[str] = set()
        rs: list[float] = []
        for k in keys:
            a = ref.arrays[k].astype(np.float64)
            s = a + eps * a.std() * rng.standard_normal(a.shape)
            t = block_perm_test(a, s, N_PERM, rng)
            rs.append(t.value)
            if t.log10_p < thr and t.z > Z_MIN and t.value >= required_effect("block_pearson"):
                fams.add("attn" if ".attn." in k else "mlp")
        ok = len(fams) >= 2
        out["levels"].append({"relative_perturbation": eps, "median_r": float(np.median(rs)), "detected": ok})
        if ok:
            out["detected_up_to"] = eps
    return out


def _fmt_p(lp: float) -> str:
    if lp <= -300:
        return "p < 1e-300"
    if lp < -3:
        return f"p ≈ 1e{math.floor(lp)}"
    return f"p = {10**lp:.3g}"


def _summary(v: Verdict, b: BatteryResult) -> str:
    derived = [c for c in v.components if c.status == "DERIVED"]
    if v.derived:
        parts = [f"{v.verdict}: " + ", ".join(f"{c.component} ({c.pattern})" for c in derived)]
        s = derived[0].strongest
        if s:
            parts.append(f"strongest evidence: {s['test']} = {s['value']:.3f} on {s['suspect']} "
                         f"(independent pairs: |value| ≤ {ENVELOPE.get(s['test'], 0):g}; {_fmt_p(s['log10_p'])})")  # fmt: skip
        return "; ".join(parts)
    if v.verdict == NO_EVIDENCE:
        up = v.power.get("detected_up_to")
        return (f"no evidence of derivation from {v.reference}; the same tests detect a derivative of it whose "
                f"weights moved by up to {up:g}× their spread (‖Δ‖/‖W‖ ≈ {up:g})")  # fmt: skip
    return f"inconclusive against {v.reference}: " + "; ".join(v.notes or ["see the evidence table"])
