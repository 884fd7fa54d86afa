"""The test battery, cheapest first: suspect (fingerprint + optional checkpoint) vs one reference.

T0 config/inventory (descriptive) → T1 tokenizer (descriptive) → T2 exact/tolerance hashes →
T3 aligned statistics (all-pairs layer map of sub-block Pearson, per-tensor permutation tests, norm
Pearson with a joint permutation null — raw cosine shown as the trap it is —, embedding rows by token
string) → T4 neuron matching vs identity (needs the suspect checkpoint: one more streamed pass) →
T5 re-parameterisation-robust tests (Procrustes de-rotation fitted on half of the shared tokens,
cross-view matching consistency).

Every evidence-grade test is one :class:`TestResult` with a family label: the decision rule
(:mod:`.decision`) counts them all for the Bonferroni threshold.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .checkpoint import Checkpoint
from .fingerprint import Fingerprint, block_rows_cols, build_fingerprint, strong_bf16
from .roles import ANCHORED_ROLES, MATRIX_ROLES, component_of, is_norm, parse_key
from .stats import (
    block_perm_test,
    cross_view,
    identity_match,
    match_rows,
    norm_joint_perm_test,
    order_spearman,
    pearson,
    predicted_cosine,
    procrustes,
    raw_cosine,
)
from .tokenizer import compare as compare_tokenizers

N_PERM = 200
N_PERM_NORM = 1000
MIN_SHARED_TOKENS = 128
TRIVIAL_PARAMS = 64


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest class

    tier: str  # T2 | T3 | T4 | T5
    test: str  # exact_hash | block_pearson | norm_pearson | embed_pearson | identity_match | ...
    component: str
    family: str  # parameter group the evidence comes from (replication needs two)
    suspect: str  # key(s) on the suspect side
    reference: str
    value: float
    null_mean: float = 0.0
    null_sd: float = 0.0
    null_max: float = 0.0
    z: float = 0.0
    log10_p: float = 0.0
    evidence: bool = True  # False: descriptive / supporting / trap — never counted as evidence
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BatteryResult:
    suspect: str
    reference: str
    config: dict[str, Any]
    tokenizer: dict[str, Any] | None
    results: list[TestResult] = field(default_factory=list)
    n_tests: int = 0  # M for the Bonferroni threshold (includes every layer-map cell)
    layer_map: dict[str, Any] = field(default_factory=dict)
    exact: dict[str, Any] = field(default_factory=dict)
    tolerance: dict[str, Any] = field(default_factory=dict)
    norm_trap: list[dict[str, Any]] = field(default_factory=list)
    rotation: dict[str, Any] = field(default_factory=dict)
    components: dict[str, int] = field(default_factory=dict)  # component -> suspect params
    shared_shapes: int = 0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["results"] = [r.to_json() for r in self.results]
        return d


def _rng(*parts: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "little"))


def _layers(fp: Fingerprint, tower: str) -> list[int]:
    return sorted({parse_key(k)[1] for k in fp.tensors if k.startswith(tower + ".L")})  # type: ignore[type-var]


def _towers(fp: Fingerprint) -> set[str]:
    return {parse_key(k)[0] for k in fp.tensors}


def _family(role: str, tower: str) -> str:
    base = "attn" if role.startswith("attn") else "mlp" if (role.startswith("mlp") or "expert" in role) else role
    return base if tower == "text" else f"{tower}.{base}"


def run_battery(
    sus: Fingerprint,
    ref: Fingerprint,
    sus_ckpt: Checkpoint | None = None,
    *,
    allow_derotation: bool = True,
) -> BatteryResult:
    """Run every applicable test of suspect ``sus`` against reference ``ref``."""
    res = BatteryResult(sus.name, ref.name, _config(sus, ref), None)
    for k, t in sus.tensors.items():
        c = component_of(k)
        res.components[c] = res.components.get(c, 0) + int(t["n_params"])
    rs, rr = sus.tokenizer, ref.tokenizer
    if rs is not None and rr is not None:
        res.tokenizer = compare_tokenizers(rs, rr).to_json()
    res.shared_shapes = sum(
        1 for k, t in sus.tensors.items() if k in ref.tensors and t["shape"] == ref.tensors[k]["shape"]
    )
    _exact(sus, ref, res, sus_ckpt)
    _embedding(sus, ref, res)
    q = res.rotation.get("Q")
    tf = None
    if q is not None and allow_derotation and sus_ckpt is not None:
        tf = _derotate_fn(np.asarray(q))
        sus = build_fingerprint(sus_ckpt, sus.name, extra_tokens=sus.meta["embed_tokens"], source_hashes=False,
                                confirm_hashes=False, transform=tf)  # fmt: skip
        res.rotation["applied"] = True
    _norms(sus, ref, res)
    _blocks(sus, ref, res)
    if sus_ckpt is not None:
        _matching(sus_ckpt, ref, res, tf)
    res.rotation.pop("Q", None)
    return res


def _config(sus: Fingerprint, ref: Fingerprint) -> dict[str, Any]:
    a, b = sus.config, ref.config
    keys = sorted(set(a) | set(b))
    return {
        "suspect": a,
        "reference": b,
        "equal_fields": [k for k in keys if a.get(k) == b.get(k)],
        "note": "hyper-parameters are copied across the industry; equality is never evidence",
    }


# ---------------------------------------------------------------- T2: exact and tolerance hashes


def _confirm(k: str, hits: list[str], sus: Fingerprint, ref: Fingerprint,
             sus_ckpt: Checkpoint | None) -> list[str]:
    """The reference tensors among ``hits`` (XXH3 candidates) whose BLAKE3 equals the suspect tensor's:
    from the suspect fingerprint if it has it, else read again from the checkpoint.  None without a
    BLAKE3 on both sides (an unconfirmed candidate is never evidence)."""
    strong = {h: ref.tensors[h].get("bf16_blake3") for h in hits}
    if not any(strong.values()):
        return []
    mine = sus.tensors[k].get("bf16_blake3")
    if mine is None:
        if sus_ckpt is None or k not in sus_ckpt.tensors:
            return []
        mine = strong_bf16(sus_ckpt, k)
    return [h for h, d in strong.items() if d == mine]


def _exact(sus: Fingerprint, ref: Fingerprint, res: BatteryResult, sus_ckpt: Checkpoint | None = None) -> None:
    by_hash: dict[tuple[str, tuple[int, ...]], list[str]] = defaultdict(list)
    for k, t in ref.tensors.items():
        if t["n_params"] >= TRIVIAL_PARAMS and t["std"] > 0:
            by_hash[(t["bf16_xxh3"], tuple(t["shape"]))].append(k)
    matched: dict[str, list[str]] = {}
    unconfirmed: list[str] = []
    per_comp: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # [equal, compared, params equal]
    for k, t in sus.tensors.items():
        c = component_of(k)
        if t["n_params"] < TRIVIAL_PARAMS or t["std"] == 0:
            continue
        per_comp[c][1] += 1
        hit = by_hash.get((t["bf16_xxh3"], tuple(t["shape"])))
        if hit:
            hit = _confirm(k, hit, sus, ref, sus_ckpt)
            if not hit:
                unconfirmed.append(k)
                continue
            matched[k] = hit
            per_comp[c][0] += 1
            per_comp[c][2] += int(t["n_params"])
    raw_equal = sum(
        1 for k, t in sus.tensors.items() if k in matched and k in ref.tensors and t["raw_xxh3"] == ref.tensors[k]["raw_xxh3"]
    )
    same_key = sum(1 for k, v in matched.items() if k in v)
    res.exact = {
        "same_key_equal": same_key,
        "same_key_sets": set(sus.tensors) == set(ref.tensors),
        "matched": {k: v for k, v in list(matched.items())[:2000]},
        "n_matched": len(matched),
        "n_suspect_nontrivial": sum(v[1] for v in per_comp.values()),
        "raw_equal": raw_equal,
        "unconfirmed": unconfirmed[:200],
        "n_unconfirmed": len(unconfirmed),
        "hashes": "XXH3-128 candidates, each confirmed by BLAKE3 of the suspect tensor against the reference's",
        "all_equal": len(matched) > 0 and all(v[0] == v[1] for v in per_comp.values()),
        "per_component": {c: {"equal": v[0], "compared": v[1], "params_equal": v[2]} for c, v in per_comp.items()},
    }
    for c, v in per_comp.items():
        if v[0]:
            fams = sorted({_family(parse_key(k)[2], parse_key(k)[0]) for k in matched if component_of(k) == c})
            res.results.append(TestResult(
                "T2", "exact_hash", c, "hash", f"{v[0]} tensors", ",".join(fams), v[0] / max(1, v[1]),
                log10_p=-300.0, note=f"{v[0]}/{v[1]} non-trivial tensors bit-identical after bf16 rounding "
                     f"(BLAKE3-confirmed)",
            ))  # fmt: skip
            for k, hits in matched.items():
                if component_of(k) == c and parse_key(k)[1] is not None:
                    kr = k if k in hits else hits[0]
                    res.results.append(TestResult(
                        "T2", "exact_hash_tensor", c, "hash", k, kr, 1.0, log10_p=-300.0, evidence=False,
                        note="bit-identical tensor (locates the copy in the layer map)",
                    ))  # fmt: skip
    # tolerance on same-key blocks: relative RMSE of the stored sub-blocks
    rel: dict[str, float] = {}
    for key, b in sus.arrays.items():
        if not key.startswith(("blk/", "vec/")) or key not in ref.arrays or ref.arrays[key].shape != b.shape:
            continue
        a = ref.arrays[key].astype(np.float64)
        d = float(np.linalg.norm(a))
        if d > 0:
            rel[key.split("/", 1)[1]] = float(np.linalg.norm(b.astype(np.float64) - a) / d)
    mats = [v for k, v in rel.items() if sus.tensors[k]["shape"] and len(sus.tensors[k]["shape"]) == 2]
    vecs = [v for k, v in rel.items() if len(sus.tensors[k]["shape"]) == 1]
    res.tolerance = {
        "n_matrices": len(mats),
        "max_rel_rmse_matrices": max(mats) if mats else None,
        "median_rel_rmse_matrices": float(np.median(mats)) if mats else None,
        "max_rel_diff_vectors": max(vecs) if vecs else None,
    }


# ---------------------------------------------------------------- T3/T5: embedding rows by token string


def _shared_rows(sus: Fingerprint, ref: Fingerprint, role: str) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    ks, kr = f"rows/text.{role}", f"rows/text.{role}"
    if ks not in sus.arrays or kr not in ref.arrays:
        return None
    ts = {s: i for i, s in enumerate(sus.meta["embed_tokens"])}
    tr = ref.meta["embed_tokens"]
    pairs = [(ts[s], i, s) for i, s in enumerate(tr) if s in ts]
    if len(pairs) < MIN_SHARED_TOKENS:
        return None
    a = sus.arrays[ks][[p[0] for p in pairs]].astype(np.float64)
    b = ref.arrays[kr][[p[1] for p in pairs]].astype(np.float64)
    if a.shape[1] != b.shape[1]:
        return None
    return a, b, [p[2] for p in pairs]


def _embedding(sus: Fingerprint, ref: Fingerprint, res: BatteryResult) -> None:
    for role, comp in (("embed", "embedding"), ("lm_head", "lm_head")):
        got = _shared_rows(sus, ref, role)
        if got is None:
            continue
        s, r, toks = got
        half = np.array([hashlib.sha1(t.encode("utf-8", "surrogatepass")).digest()[0] & 1 for t in toks], bool)
        for h, name in ((~half, "A"), (half, "B")):
            t = block_perm_test(r[h], s[h], N_PERM, _rng(res.suspect, res.reference, role, name))
            res.results.append(TestResult(
                "T3", "embed_pearson", comp, f"{role}.{name}", f"text.{role}[{int(h.sum())} shared tokens]",
                f"text.{role}", t.value, t.null_mean, t.null_sd, t.null_max, t.z, t.log10_p,
                note=f"rows aligned by token string, vocabulary half {name}",
            ))  # fmt: skip
        m, _ = match_rows(r, s)
        t = identity_match(np.arange(len(toks)), m, len(toks))
        res.results.append(TestResult(
            "T4", "identity_match", comp, f"{role}.match", f"text.{role}", f"text.{role}", t.value, t.null_mean,
            t.null_sd, 0.0, t.z, t.log10_p, note="nearest row is the same token string (binomial null)",
        ))  # fmt: skip
        res.n_tests += 3
        if role != "embed":
            continue
        # T5: residual rotation/permutation — fit on half A, validate on half B
        qa = procrustes(r[~half], s[~half])
        t = block_perm_test(r[half] @ qa, s[half], N_PERM, _rng(res.suspect, res.reference, "procrustes"))
        ident = float(np.linalg.norm(qa - np.eye(qa.shape[0])) / np.sqrt(qa.shape[0]))
        res.results.append(TestResult(
            "T5", "procrustes_pearson", comp, "embed.rotated", "text.embed[half B]", "text.embed[half B]",
            t.value, t.null_mean, t.null_sd, t.null_max, t.z, t.log10_p, evidence=False,
            note="supporting only: independent embeddings align partly after an optimal rotation",
        ))  # fmt: skip
        res.rotation = {"fitted_on": int((~half).sum()), "validated_on": int(half.sum()), "r_validation": t.value,
                        "z_validation": t.z, "distance_from_identity": ident, "applied": False}  # fmt: skip
        plain = max((x for x in res.results if x.test == "embed_pearson" and x.component == "embedding"),
                    key=lambda x: x.value)  # fmt: skip
        if t.z > 8 and t.value > 0.5 and ident > 0.5 and plain.value < 0.5 * t.value:
            res.rotation["Q"] = qa.tolist()
            res.rotation["reason"] = "embedding rows align only after rotation: undoing it before T3/T4"


def _derotate_fn(q: np.ndarray) -> Any:
    """Transform undoing a residual rotation/permutation Q (E_s ≈ E_r·Q): W_in·Qᵀ, Q·W_out."""
    d = q.shape[0]
    qt = q.T.astype(np.float32)
    qf = q.astype(np.float32)

    def tf(key: str, a: np.ndarray) -> np.ndarray:
        _, _, role = parse_key(key)
        if a.ndim == 2 and role in ("attn.q", "attn.k", "attn.v", "mlp.gate", "mlp.up", "embed", "lm_head") \
                and a.shape[1] == d:  # fmt: skip
            return a @ qt
        if a.ndim == 2 and role in ("attn.o", "mlp.down") and a.shape[0] == d:
            return qf @ a
        if a.ndim == 1 and a.shape[0] == d and is_norm(role):
            return np.abs(qf) @ a  # a permutation moves gains; a rotation folds them (then they are ~1)
        return a

    return tf


# ---------------------------------------------------------------- T3: norm gains (and the cosine trap)


def _norms(sus: Fingerprint, ref: Fingerprint, res: BatteryResult) -> None:
    groups: dict[tuple[str, int], list[tuple[str, str]]] = defaultdict(list)
    for k in sus.tensors:
        tower, _layer, role = parse_key(k)
        if not is_norm(role) or f"vec/{k}" not in sus.arrays or f"vec/{k}" not in ref.arrays:
            continue
        a, b = sus.arrays[f"vec/{k}"], ref.arrays[f"vec/{k}"]
        if a.shape != b.shape or a.size < 16 or float(np.std(b)) == 0 or float(np.std(a)) == 0:
            continue
        groups[(tower, a.size)].append((k, k))
        res.norm_trap.append({
            "key": k, "raw_cosine": raw_cosine(a, b), "predicted_cosine_if_unrelated": predicted_cosine(a, b),
            "pearson": pearson(a, b), "mean_s": float(a.mean()), "mean_r": float(b.mean()),
            "cv_s": float(a.std() / abs(a.mean())) if a.mean() else None,
            "cv_r": float(b.std() / abs(b.mean())) if b.mean() else None,
        })  # fmt: skip
    for (tower, d), pairs in groups.items():
        s = np.stack([sus.arrays[f"vec/{p[0]}"] for p in pairs])
        r = np.stack([ref.arrays[f"vec/{p[1]}"] for p in pairs])
        t = norm_joint_perm_test(r, s, N_PERM_NORM, _rng(res.suspect, res.reference, "norm", tower, str(d)))
        comp = "blocks" if tower == "text" else tower
        fam = "norm" if tower == "text" else f"{tower}.norm"
        res.results.append(TestResult(
            "T3", "norm_pearson", comp, fam, f"{len(pairs)} vectors of length {d}", "same keys", t.value,
            t.null_mean, t.null_sd, t.null_max, t.z, t.log10_p,
            note="mean Pearson; null: one permutation of hidden dimensions applied to all vectors jointly",
        ))  # fmt: skip
        cos = [raw_cosine(sus.arrays[f"vec/{p[0]}"], ref.arrays[f"vec/{p[1]}"]) for p in pairs]
        res.results.append(TestResult(
            "T3", "norm_raw_cosine", comp, fam, f"{len(pairs)} vectors", "same keys", float(np.mean(cos)),
            evidence=False, note="TRAP: raw cosine of positive gain vectors is ≈1 for any pair; never evidence",
        ))  # fmt: skip
        res.n_tests += 1


# ---------------------------------------------------------------- T3: all-pairs layer map of block Pearson


def _unit(fp: Fingerprint, key: str) -> tuple[tuple[Any, ...], np.ndarray] | None:
    """(full tensor shape + block shape, centred unit-norm flattened block) or None."""
    b = fp.arrays.get(f"blk/{key}")
    if b is None:
        return None
    x = b.astype(np.float64).ravel()
    x = x - x.mean()
    n = float(np.linalg.norm(x))
    if n == 0:
        return None
    return (tuple(fp.tensors[key]["shape"]), b.shape), x / n


def _blocks(sus: Fingerprint, ref: Fingerprint, res: BatteryResult) -> None:
    for tower in sorted(_towers(sus) & _towers(ref)):
        ls, lr = _layers(sus, tower), _layers(ref, tower)
        roles = sorted({parse_key(k)[2] for k in sus.tensors if k.startswith(tower + ".L")} &
                       {parse_key(k)[2] for k in ref.tensors if k.startswith(tower + ".L")})  # fmt: skip
        roles = [r for r in roles if f"blk/{tower}.L{lr[0] if lr else 0}.{r}" in ref.arrays or r in MATRIX_ROLES]
        cube = np.full((len(roles), len(ls), len(lr)), np.nan)
        for a, role in enumerate(roles):
            si = [(i, _unit(sus, f"{tower}.L{li}.{role}")) for i, li in enumerate(ls)]
            rj = [(j, _unit(ref, f"{tower}.L{lj}.{role}")) for j, lj in enumerate(lr)]
            si = [(i, v) for i, v in si if v is not None]
            rj = [(j, v) for j, v in rj if v is not None]
            for shape in {v[0] for _, v in si} & {v[0] for _, v in rj}:
                ii = [i for i, v in si if v[0] == shape]
                jj = [j for j, v in rj if v[0] == shape]
                ms = np.stack([v[1] for _, v in si if v[0] == shape])
                mr = np.stack([v[1] for _, v in rj if v[0] == shape])
                cube[a][np.ix_(ii, jj)] = ms @ mr.T
        valid = ~np.isnan(cube)
        if not valid.any():
            continue
        res.n_tests += int(valid.sum())
        with np.errstate(all="ignore"):
            mp = np.nanmean(cube, axis=0)
        best = np.where(np.isnan(mp).all(axis=1), -1, np.nanargmax(np.where(np.isnan(mp), -np.inf, mp), axis=1))
        res.layer_map[tower] = {
            "suspect_layers": ls, "reference_layers": lr, "roles": roles,
            "mean_pearson": np.where(np.isnan(mp), None, np.round(mp, 5)).tolist(),
            "best_ref_layer": [int(lr[b]) if b >= 0 else None for b in best],
            "best_value": [float(mp[i, b]) if b >= 0 else None for i, b in enumerate(best)],
        }  # fmt: skip
        for i, li in enumerate(ls):
            if best[i] < 0:
                continue
            lj = lr[best[i]]
            for role in roles:
                ks, kr = f"{tower}.L{li}.{role}", f"{tower}.L{lj}.{role}"
                bs, br = sus.arrays.get(f"blk/{ks}"), ref.arrays.get(f"blk/{kr}")
                if bs is None or br is None or bs.shape != br.shape:
                    continue
                t = block_perm_test(br, bs, N_PERM, _rng(res.suspect, res.reference, ks, kr))
                anchored = role in ANCHORED_ROLES
                res.results.append(TestResult(
                    "T3", "block_pearson", "blocks" if tower == "text" else tower, _family(role, tower), ks, kr,
                    t.value, t.null_mean, t.null_sd, t.null_max, t.z, t.log10_p, evidence=not anchored,
                    note="aligned sub-block; null: random re-pairing of suspect rows",
                ))  # fmt: skip
    # top-level 2-D tensors outside blocks (lm_head handled by rows; anchored axes are supporting only)
    for k in sus.tensors:
        tower, layer, role = parse_key(k)
        if layer is not None or role in ("embed", "lm_head") or f"blk/{k}" not in sus.arrays:
            continue
        bs, br = sus.arrays[f"blk/{k}"], ref.arrays.get(f"blk/{k}")
        if br is None or br.shape != bs.shape or sus.tensors[k]["shape"] != ref.tensors[k]["shape"]:
            continue
        t = block_perm_test(br, bs, N_PERM, _rng(res.suspect, res.reference, k))
        res.n_tests += 1
        res.results.append(TestResult(
            "T3", "block_pearson", component_of(k), _family(role, tower), k, k, t.value, t.null_mean, t.null_sd,
            t.null_max, t.z, t.log10_p, evidence=role not in ANCHORED_ROLES,
            note="anchored axis (position-like): supporting only" if role in ANCHORED_ROLES else "",
        ))  # fmt: skip


# ---------------------------------------------------------------- T4/T5: neuron matching (second pass)


def _matching(ckpt: Checkpoint, ref: Fingerprint, res: BatteryResult, tf: Any) -> None:
    pairs: set[tuple[str, int, int]] = set()
    for tower, lm in res.layer_map.items():
        for li, lj in zip(lm["suspect_layers"], lm["best_ref_layer"], strict=True):
            if lj is not None:
                pairs.add((tower, li, lj))
        if lm["suspect_layers"] == lm["reference_layers"]:
            pairs.update((tower, li, li) for li in lm["suspect_layers"])
    for tower, li, lj in sorted(pairs):
        views: dict[str, np.ndarray] = {}
        for role in MATRIX_ROLES:
            ks, kr = f"{tower}.L{li}.{role}", f"{tower}.L{lj}.{role}"
            if ks not in ckpt.tensors or kr not in ref.tensors or f"blk/{kr}" not in ref.arrays:
                continue
            rshape = tuple(ref.tensors[kr]["shape"])
            a = ckpt.read(ks)
            if tf is not None:
                a = tf(ks, a)
            if a.ndim != 2 or a.shape[1] != rshape[1]:
                continue
            rows, cols = block_rows_cols(rshape)
            m, cos = match_rows(ref.arrays[f"blk/{kr}"], a[:, cols])
            views[role] = m
            if a.shape[0] == rshape[0]:
                t, test = identity_match(rows, m, a.shape[0]), "identity_match"
            else:
                conf = cos > np.median(cos)
                t, test = order_spearman(rows[conf], m[conf]), "order_spearman"
            res.n_tests += 1
            res.results.append(TestResult(
                "T4", test, "blocks" if tower == "text" else tower, _family(role, tower), ks, kr, t.value,
                t.null_mean, t.null_sd, 0.0, t.z, t.log10_p,
                note=f"{len(rows)} reference rows matched among {a.shape[0]} suspect rows",
            ))  # fmt: skip
        if "mlp.gate" in views and "mlp.up" in views:
            h = int(ckpt.tensors[f"{tower}.L{li}.mlp.up"].shape[0])
            t = cross_view(views["mlp.gate"], views["mlp.up"], h)
            res.n_tests += 1
            res.results.append(TestResult(
                "T5", "cross_view", "blocks" if tower == "text" else tower, _family("mlp", tower),
                f"{tower}.L{li}.mlp.gate|up", f"{tower}.L{lj}.mlp.gate|up", t.value, t.null_mean, t.null_sd, 0.0,
                t.z, t.log10_p, note="gate-row and up-row matchings agree (survives neuron permutation)",
            ))  # fmt: skip
