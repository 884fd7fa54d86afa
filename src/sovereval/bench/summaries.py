"""Benchmark-level numbers that are not a mean of per-item values, computed from stored scores.

A sub-block's points come from the mean of the per-item ``Score.value`` (with a bootstrap interval).  Some
originals also report aggregates that are not such a mean — pass@k for k > 1, IFEval's instruction-level
accuracy (pooled over instructions, so prompts weigh by their instruction count), KoBBQ's diff-bias scores
(differences of conditional rates), KoBEST's macro-F1.  They cannot be points, but the report shows them
next to the mean.  Each is computed here from the ``Score.detail`` that the scorer stored, so a ledger
rescore reproduces them without the model.

``SUMMARIES`` maps a *scorer name* to ``fn(decl_id, scores) -> {metric: value}``; :func:`summary` looks
the declaration's scorer up and drops missing scores (items without a response).  Rates are fractions in
[0, 1] like per-item values (diff-bias in [-1, 1]); counts are floats too.  A metric that is undefined on
the scores given (e.g. ``acc_dis`` without disambiguated items) is left out rather than reported as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sovereval.bench.humaneval import summarize as _pass_at_k
from sovereval.bench.ifeval.evaluate import PromptResult, accuracy
from sovereval.bench.kobbq import metrics_from_details
from sovereval.bench.scorers.base import Score

if TYPE_CHECKING:
    from sovereval.bench.spec import BenchmarkDecl

Summary = Callable[[str, Sequence[Score]], dict[str, float]]


def _finite(d: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in d.items() if not (isinstance(v, float) and math.isnan(v))}


def humaneval_summary(decl_id: str, scores: Sequence[Score]) -> dict[str, float]:
    """pass@1, pass@10, pass@100 with the unbiased estimator, samples grouped per problem by
    ``detail.task_id`` (several samples of a problem come from several epochs); a k is reported only when
    every problem has at least k samples."""
    passed: dict[str, list[bool]] = {}
    for i, s in enumerate(scores):
        passed.setdefault(str(s.detail.get("task_id", f"#{i}")), []).append(s.value >= 1.0)
    if not passed:
        return {}
    out = _pass_at_k(passed, ks=(1, 10, 100))
    out["n_problems"] = float(len(passed))
    out["samples_per_problem"] = float(min(len(v) for v in passed.values()))
    return out


def ifeval_summary(decl_id: str, scores: Sequence[Score]) -> dict[str, float]:
    """The four IFEval accuracies from each score's per-instruction strict/loose judgements."""
    results = [PromptResult(key=i, instruction_ids=tuple(s.detail["instruction_ids"]),
                            strict=tuple(bool(x) for x in s.detail["strict"]),
                            loose=tuple(bool(x) for x in s.detail["loose"])) for i, s in enumerate(scores)]
    if not results:
        return {}
    acc = accuracy(results)
    return {"prompt_strict": acc.prompt_strict, "prompt_loose": acc.prompt_loose,
            "instruction_strict": acc.instruction_strict, "instruction_loose": acc.instruction_loose,
            "n_prompts": float(acc.n_prompts), "n_instructions": float(acc.n_instructions)}


def kobbq_summary(decl_id: str, scores: Sequence[Score]) -> dict[str, float]:
    """KoBBQ's accuracy in ambiguous and disambiguated contexts, diff-bias in both, the out-of-choice
    ratio (Jin et al., 2024), over all evaluated (permuted) items."""
    if not scores:
        return {}
    m = metrics_from_details(s.detail for s in scores)
    return _finite({"acc_amb": m.acc_amb, "acc_dis": m.acc_dis, "diff_bias_amb": m.diff_bias_amb,
                    "diff_bias_dis": m.diff_bias_dis, "ooc_ratio": m.ooc_ratio, "n": float(m.n),
                    "n_amb": float(m.n_amb), "n_dis": float(m.n_dis)})


def longctx_summary(decl_id: str, scores: Sequence[Score]) -> dict[str, float]:
    """Mean score per task (``task:<name>``) and the mean measured length of the items scored."""
    by_task: dict[str, list[float]] = {}
    lengths = []
    for s in scores:
        by_task.setdefault(str(s.detail.get("task", "?")), []).append(s.value)
        if isinstance(s.detail.get("n_tokens"), int | float):
            lengths.append(float(s.detail["n_tokens"]))
    out = {f"task:{t}": sum(v) / len(v) for t, v in sorted(by_task.items())}
    if lengths:
        out["mean_tokens"] = sum(lengths) / len(lengths)
    return out


def macro_f1(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Macro-averaged F1 over the labels present in ``gold`` or ``pred`` (scikit-learn's
    ``f1_score(average="macro")``, which lm-eval reports for KoBEST)."""
    if len(gold) != len(pred) or not gold:
        raise ValueError("need equally many gold and predicted labels, at least one")
    f1s = []
    for label in sorted(set(gold) | set(pred)):
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def mcq_loglik_summary(decl_id: str, scores: Sequence[Score]) -> dict[str, float]:
    """KoBEST (``kobest-*``): macro-F1 of the unnormalised argmax (``detail.pred``) against ``detail.gold``,
    as lm-eval's ``f1``; other likelihood MCQs report nothing beyond the mean."""
    if not decl_id.startswith("kobest") or not scores:
        return {}
    gold = [int(s.detail["gold"]) for s in scores]
    return {"macro_f1": macro_f1(gold, [int(s.detail["pred"]) for s in scores])}


SUMMARIES: dict[str, Summary] = {
    "humaneval": humaneval_summary,
    "ifeval": ifeval_summary,
    "kobbq": kobbq_summary,
    "longctx": longctx_summary,
    "mcq_loglik": mcq_loglik_summary,
}


def summary(decl: BenchmarkDecl, scores: Sequence[Score | None]) -> dict[str, float]:
    """The declaration's extra aggregates over the scores it has ({} when its scorer has none)."""
    fn = SUMMARIES.get(decl.scorer.name)
    return fn(decl.id, [s for s in scores if s is not None]) if fn is not None else {}
