"""Raw results -> sub-block points -> block points -> totals -> gates -> ranking -> selection.

One pass computes the point estimate (row 0) and every bootstrap replicate (rows 1..R) as arrays;
confidence intervals, rank probabilities and selection probabilities are read off the rows.
"""

from __future__ import annotations

import numpy as np

from sovereval import __version__
from sovereval.program.load import SpecError
from sovereval.program.records import Inputs, Provenance, inputs_digest
from sovereval.program.spec import Program, Stage
from sovereval.scoring import normalise
from sovereval.scoring.resample import (
    benchmark_replicates,
    rater_weights,
    weighted_mean,
    weighted_trimmed_mean,
)
from sovereval.scoring.result import (
    Cell,
    Column,
    ItemTrace,
    RecompetitionResult,
    Sheet,
    SubblockTrace,
    TeamRow,
)
from sovereval.scoring.rules import SubblockArrays, eligibility, panel_majority, rank_with, totals_from
from sovereval.scoring.select import lot_order
from sovereval.scoring.sensitivity import analyse

DEFAULT_SEED = 20260115
DEFAULT_REPLICATES = 10_000


def _err(msg: str, field_: str | None = None) -> SpecError:
    return SpecError(file="<inputs>", message=msg, field=field_)


def validate_inputs(program: Program, inputs: Inputs, *, complete: bool = True) -> Stage:
    """Check every record refers to what the stage declares; with ``complete``, that nothing is missing."""
    try:
        stage = program.stage(inputs.stage)
    except KeyError as e:
        raise _err(str(e.args[0]), "stage") from None
    _check(program, stage, inputs, complete)
    return stage


def _check(program: Program, stage: Stage, inputs: Inputs, complete: bool) -> None:
    if inputs.program != program.id:
        raise _err(f"inputs are for program {inputs.program!r}, not {program.id!r}", "program")
    teams = set(stage.teams)
    declared = {t.id for t in program.teams}
    bench_items = {i.id for sb in stage.subblocks if sb.source == "benchmark" for i in sb.items}
    for tid in stage.teams:
        bench_items |= set(program.team(tid).individual_benchmarks)
    for b in inputs.benchmarks:
        if b.team not in teams:
            raise _err(f"benchmark result for team {b.team!r}, which is not in stage {stage.id!r}", "benchmarks")
        if b.benchmark not in bench_items:
            raise _err(
                f"benchmark result {b.team}/{b.benchmark}: no sub-block of stage {stage.id!r} scores {b.benchmark!r}",
                "benchmarks",
            )
    rated = {(sb.panel, it.id): it for sb in stage.subblocks if sb.source == "rating" for it in sb.items}
    for r in inputs.ratings:
        where = f"rating {r.panel}/{r.rater}/{r.team}/{r.item}"
        if r.team not in teams:
            raise _err(f"{where}: team {r.team!r} is not in stage {stage.id!r}", "ratings")
        it = rated.get((r.panel, r.item))
        if it is None:
            raise _err(f"{where}: panel {r.panel!r} rates no item {r.item!r} in stage {stage.id!r}", "ratings")
        lo = it.min if it.min is not None else 0.0
        if not (lo <= r.value <= (it.max or 0)):
            raise _err(f"{where}: value {r.value:g} outside the scale [{lo:g}, {it.max:g}]", "ratings")
    gates = {g.id for g in stage.gates}
    for g in inputs.gates:
        if g.gate not in gates:
            raise _err(f"gate decision for unknown gate {g.gate!r} (stage declares {sorted(gates)})", "gates")
        if g.team not in teams:
            raise _err(f"gate decision for team {g.team!r}, not in stage {stage.id!r}", "gates")
    for a in inputs.approvals:
        if a.team not in declared:
            raise _err(f"approval for undeclared team {a.team!r}; declare it under [[teams]]", "approvals")
    if not complete:
        return
    # every required benchmark result present
    have = {(b.team, b.benchmark) for b in inputs.benchmarks}
    for sb in stage.subblocks:
        if sb.source != "benchmark":
            continue
        for tid in stage.teams:
            ids = program.team(tid).individual_benchmarks if sb.team_chosen else [i.id for i in sb.items]
            missing = [b for b in ids if (tid, b) not in have]
            if missing:
                raise _err(f"team {tid!r} has no result for {missing} (sub-block {sb.id!r})", "benchmarks")
    for sb in stage.subblocks:
        if sb.source != "rating":
            continue
        for tid in stage.teams:
            for it in sb.items:
                if not any(r.team == tid and r.item == it.id and r.panel == sb.panel for r in inputs.ratings):
                    raise _err(f"team {tid!r} has no rating of {it.id!r} by panel {sb.panel!r} (sub-block {sb.id!r})", "ratings")


def _ci(x: np.ndarray, confidence: float) -> tuple[float, float]:
    if x.shape[0] <= 1:
        return float(x[0]), float(x[0])
    a = (1 - confidence) / 2
    lo, hi = np.quantile(x[1:], [a, 1 - a])
    return float(lo), float(hi)


def score(
    program: Program,
    inputs: Inputs,
    *,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    program_sha256: str = "",
    sensitivity: bool = True,
) -> Sheet:
    stage = validate_inputs(program, inputs)
    rng = np.random.default_rng(seed)
    teams = list(stage.teams)
    tindex = {t: i for i, t in enumerate(teams)}
    n_t, n_r = len(teams), replicates + 1
    methods: set[str] = set()

    # ---- benchmarks: one replicate set per benchmark, shared by every sub-block using it
    by_bench: dict[str, list] = {}
    for b in sorted(inputs.benchmarks, key=lambda b: (b.benchmark, tindex[b.team])):
        by_bench.setdefault(b.benchmark, []).append(b)
    bench_pct: dict[tuple[str, str], np.ndarray] = {}
    bench_basis: dict[tuple[str, str], str] = {}
    bench_prov: dict[tuple[str, str], Provenance] = {}
    for bench, results in by_bench.items():
        res = benchmark_replicates(results, replicates, rng)
        methods.add(f"{bench}: {res.method}")
        for j, r in enumerate(results):
            bench_pct[(r.team, bench)] = res.percent[:, j]
            bench_basis[(r.team, bench)] = f"{r.item_count} items" + ("" if r.scores else " (summary)")
            bench_prov[(r.team, bench)] = r.provenance

    # ---- ratings: one set of rater weights per panel, shared across teams and items
    rating_agg: dict[tuple[str, str, str], np.ndarray] = {}
    rating_basis: dict[tuple[str, str, str], str] = {}
    rating_prov: dict[tuple[str, str, str], Provenance] = {}
    panel_weights: dict[str, np.ndarray] = {}
    for sb in stage.subblocks:
        if sb.source != "rating":
            continue
        ratings = [r for r in inputs.ratings if r.panel == sb.panel and r.item in {i.id for i in sb.items}]
        raters = sorted({r.rater for r in inputs.ratings if r.panel == sb.panel})
        rindex = {r: i for i, r in enumerate(raters)}
        if sb.panel not in panel_weights:
            panel_weights[sb.panel or ""] = rater_weights(len(raters), replicates, rng)
        w = panel_weights[sb.panel or ""]
        methods.add(f"panel {sb.panel}: bootstrap over {len(raters)} raters, jointly across teams and items")
        for it in sb.items:
            for tid in teams:
                vals = np.full(len(raters), np.nan)
                prov: set[str] = set()
                for r in ratings:
                    if r.team == tid and r.item == it.id:
                        vals[rindex[r.rater]] = r.value
                        prov.add(r.provenance)
                n_raters = int((~np.isnan(vals)).sum())
                if sb.rater_aggregate == "trimmed_mean":
                    agg = weighted_trimmed_mean(vals, w, sb.trim, sb.trim_min_raters)
                    how = (f"trimmed mean (drop {sb.trim} highest and {sb.trim} lowest)"
                           if n_raters >= sb.trim_min_raters else "mean (too few raters to trim)")
                else:
                    agg = weighted_mean(vals, w)
                    how = "mean"
                if np.isnan(agg[1:]).any():
                    # a replicate drew none of this team's raters: keep the estimate there, say so
                    methods.add(f"panel {sb.panel}: some replicates drew no rater of a team/item; estimate used")
                    agg = np.where(np.isnan(agg), agg[0], agg)
                rating_agg[(sb.panel or "", tid, it.id)] = 100.0 * agg / (it.max or 1.0)
                rating_basis[(sb.panel or "", tid, it.id)] = f"{n_raters} raters, {how}"
                rating_prov[(sb.panel or "", tid, it.id)] = "reconstructed" if "reconstructed" in prov else (
                    "published" if prov == {"published"} else "recorded")

    # ---- sub-blocks
    arrays: list[SubblockArrays] = []
    for sb in stage.subblocks:
        per_team_items = [
            list(program.team(t).individual_benchmarks) if sb.team_chosen else [i.id for i in sb.items] for t in teams
        ]
        n_i = max(len(x) for x in per_team_items)
        pct = np.full((n_r, n_t, n_i), np.nan)
        weights = np.zeros((n_t, n_i))
        targets = np.full((n_t, n_i), np.nan) if sb.needs_target else None
        basis = [[""] * n_i for _ in teams]
        prov: list[list[Provenance]] = [["recorded"] * n_i for _ in teams]
        items = {i.id: i for i in sb.items}
        for ti, tid in enumerate(teams):
            team = program.team(tid)
            for ii, item_id in enumerate(per_team_items[ti]):
                item = items.get(item_id)
                weights[ti, ii] = item.effective_weight if item else 1.0
                if sb.source == "benchmark":
                    key = (tid, item_id)
                    pct[:, ti, ii] = bench_pct[key]
                    basis[ti][ii], prov[ti][ii] = bench_basis[key], bench_prov[key]
                else:
                    key3 = (sb.panel or "", tid, item_id)
                    pct[:, ti, ii] = rating_agg[key3]
                    basis[ti][ii], prov[ti][ii] = rating_basis[key3], rating_prov[key3]
                if targets is not None:
                    assert team.target is not None
                    targets[ti, ii] = team.target.reference_scores[item_id]
                    if team.target.provenance == "reconstructed":
                        prov[ti][ii] = "reconstructed"
        a = SubblockArrays(sb, per_team_items, pct, weights, targets, basis, prov)
        a.points, a.raw = normalise.apply(sb.normaliser, sb.points, pct, weights, targets)
        arrays.append(a)

    return _assemble(program, stage, inputs, arrays, replicates, seed, confidence, program_sha256, methods, sensitivity)


def _assemble(
    program: Program,
    stage: Stage,
    inputs: Inputs,
    arrays: list[SubblockArrays],
    replicates: int,
    seed: int,
    confidence: float,
    program_sha256: str,
    methods: set[str],
    with_sensitivity: bool,
) -> Sheet:
    teams = list(stage.teams)
    sub_points = {a.sb.id: a.points for a in arrays}
    blocks, total = totals_from(stage, sub_points)
    eligible, provisional, gates, reasons = eligibility(program, stage, inputs)
    lot = lot_order(len(teams), seed)
    ranked = rank_with(stage, sub_points, blocks, total, np.broadcast_to(eligible, total.shape), lot)

    # ---- cells
    published = {(p.key, p.team): p for p in inputs.published if p.stat == "value"}
    published_means = {p.key: p for p in inputs.published if p.stat == "mean"}
    columns: list[Column] = []
    series: dict[str, np.ndarray] = {}
    for b in stage.blocks:
        for s in b.subblocks:
            columns.append(Column(id=s.id, name=s.name or s.id, points=s.points, level="subblock", parent=b.id))
            series[s.id] = sub_points[s.id]
        columns.append(Column(id=b.id, name=b.name or b.id, points=b.points, level="block"))
        series[b.id] = blocks[b.id]
    columns.append(Column(id="total", name="Total", points=stage.total_points, level="total"))
    series["total"] = total

    sub_prov: dict[tuple[str, str], Provenance] = {}
    for a in arrays:
        relative = a.sb.normaliser.kind in ("relative_to_best", "rank_points")
        for ti, tid in enumerate(teams):
            own = set(a.provenance[ti])
            every = {p for row in a.provenance for p in row}
            pool = every if relative else own
            sub_prov[(a.sb.id, tid)] = "reconstructed" if "reconstructed" in pool else (
                "published" if pool == {"published"} else "recorded")

    def provenance_of(key: str, tid: str) -> Provenance:
        if key in sub_points:
            return sub_prov[(key, tid)]
        subs = [s.id for s in stage.subblocks] if key == "total" else [s.id for s in next(b for b in stage.blocks if b.id == key).subblocks]
        ps = {sub_prov[(s, tid)] for s in subs}
        return "reconstructed" if "reconstructed" in ps else ("published" if ps == {"published"} else "recorded")

    warnings: list[str] = []
    reproduction: list[str] = []
    d = stage.decimals
    sole_child = {b.subblocks[0].id: b.id for b in stage.blocks if len(b.subblocks) == 1}

    def cell_for(key: str, tid: str | None, x: np.ndarray, prov: Provenance) -> Cell:
        lo, hi = _ci(x, confidence)
        est = float(x[0])
        # a block's only sub-block is the same number: a published block value labels it too
        alias = sole_child.get(key, key)
        pub = (published.get((key, tid)) or published.get((alias, tid))) if tid else (
            published_means.get(key) or published_means.get(alias))
        if pub is not None:
            places = pub.decimals if pub.decimals is not None else d
            ok = abs(round(est, places) - pub.value) < 1e-9
            label = f"{tid or 'mean'} {key}: published {pub.value:.{places}f}, computed {est:.{places + 2}f}"
            reproduction.append(("OK   " if ok else "DIFF ") + label + (f" [{pub.source}]" if pub.source else ""))
            if ok:
                prov = "published"
            else:
                warnings.append(f"does not reproduce the release: {label}")
        return Cell(estimate=est, lo=lo, hi=hi, provenance=prov, published=pub.value if pub else None)

    rows: list[TeamRow] = []
    sel_est = ranked.selected[0]
    p_sel = ranked.selected[1:].mean(axis=0) if replicates else ranked.selected[0].astype(float)
    rank_rows = ranked.rank[1:] if replicates else ranked.rank[:1]
    for ti, tid in enumerate(teams):
        team = program.team(tid)
        cells = {k: cell_for(k, tid, v[:, ti], provenance_of(k, tid)) for k, v in series.items()}
        probs = tuple(float((rank_rows[:, ti] == k).mean()) for k in range(1, len(teams) + 1))
        rank = int(ranked.rank[0, ti])
        if sel_est[ti]:
            status, reason = "selected", f"rank {rank} of {len(teams)}, within the {stage.selection.slots} slots"
        elif not eligible[ti]:
            status, reason = "eliminated", reasons.get(tid, "not eligible")
        else:
            status = "not_selected"
            reason = f"rank {rank} of {len(teams)}"
            if stage.selection.min_total is not None and round(float(total[0, ti]), stage.selection.rank_decimals) < stage.selection.min_total:
                reason += f"; total below the minimum {stage.selection.min_total:g}"
            else:
                reason += f", outside the {stage.selection.slots} slots"
        traces = tuple(_trace(a, ti, stage) for a in arrays)
        rows.append(TeamRow(
            team=tid, name=team.name, cells=cells, rank=rank, rank_probs=probs, p_selected=float(p_sel[ti]),
            gates=gates[tid], status=status, provisional=bool(provisional[ti] and sel_est[ti]), reason=reason,
            traces=traces,
        ))
    rows.sort(key=lambda r: r.rank)
    means = {k: cell_for(k, None, v.mean(axis=1), "reconstructed" if any(
        provenance_of(k, t) == "reconstructed" for t in teams) else "recorded") for k, v in series.items()}

    for i, j in ranked.lot_decided:
        warnings.append(f"tie between {teams[i]} and {teams[j]} decided by lot")
    if inputs.outcome is not None:
        got = {t for t, s in zip(teams, sel_est, strict=True) if s}
        want = set(inputs.outcome.selected)
        reproduction.append(("OK   " if got == want else "DIFF ") + f"selected: published {sorted(want)}, computed {sorted(got)}")
        if got != want:
            warnings.append(f"selection does not reproduce the release: published {sorted(want)}, computed {sorted(got)}")
    vacated = int(ranked.vacated[0])
    sheet = Sheet(
        program_id=program.id, program_name=program.name, program_version=program.version,
        program_sha256=program_sha256, stage_id=stage.id, stage_name=stage.name or stage.id,
        total_points=stage.total_points, decimals=stage.decimals, columns=tuple(columns), rows=tuple(rows),
        means=means, selected=tuple(t for t in (r.team for r in rows) if sel_est[teams.index(t)]),
        vacated=vacated, recompetition=_recompetition(program, stage, inputs, vacated),
        replicates=replicates, seed=seed, confidence=confidence, inputs_sha256=inputs_digest(inputs),
        engine_version=__version__, methods=tuple(sorted(methods)), warnings=tuple(warnings),
        lot_order=tuple(teams[i] for i in np.argsort(-lot)), reproduction=tuple(reproduction),
    )
    if with_sensitivity:
        sheet = sheet.model_copy(update={"sensitivity": analyse(program, stage, inputs, arrays, seed)})
    return sheet


def _trace(a: SubblockArrays, ti: int, stage: Stage) -> SubblockTrace:
    items_by_id = {i.id: i for i in a.sb.items}
    out = []
    for ii, item_id in enumerate(a.item_ids[ti]):
        pct = float(a.pct[0, ti, ii])
        target = float(a.targets[ti, ii]) if a.targets is not None else None
        it = items_by_id.get(item_id)
        out.append(ItemTrace(
            item=item_id, name=it.name if it else "", weight=float(a.weights[ti, ii]), percent=pct, target=target,
            ratio=(pct / target) if target else None, basis=a.basis[ti][ii], provenance=a.provenance[ti][ii],
        ))
    ratio = a.sb.normaliser.kind == "ratio_to_target_capped"
    return SubblockTrace(
        subblock=a.sb.id, block=stage.block_of(a.sb.id).id, normaliser=normalise.describe(a.sb.normaliser, a.sb.points),
        raw=float(a.raw[0, ti]), raw_unit="ratio" if ratio else "percent", points=float(a.points[0, ti]), items=tuple(out),
    )


def _recompetition(program: Program, stage: Stage, inputs: Inputs, vacated: int) -> RecompetitionResult | None:
    rc = stage.selection.recompetition
    if rc is None or vacated <= 0:
        return None
    offered = min(vacated, rc.slots)
    cands = sorted({a.team for a in inputs.approvals if a.call == "recompetition"})
    desc: dict[str, str] = {}
    approved: list[tuple[int, str]] = []
    for t in cands:
        if rc.panel_majority:
            ok, text = panel_majority(stage, inputs, rc.panel_majority, t, "recompetition")
        else:
            ok, text = True, "no approval required"
        desc[t] = text + (" - majority" if ok and rc.panel_majority else "") + ("" if ok else " - no majority")
        if ok:
            approved.append((sum(a.approve for a in inputs.approvals if a.team == t and a.call == "recompetition"), t))
    approved.sort(key=lambda x: (-x[0], x[1]))
    return RecompetitionResult(slots_offered=offered, call=rc.call, candidates=desc,
                               filled_by=tuple(t for _, t in approved[:offered]))
