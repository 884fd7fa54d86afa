"""Scorers, one module per family, registered by name in :data:`SCORERS`.

=================  ===========  ==========================================================
name               reads        module
=================  ===========  ==========================================================
mcq_generate       Generation   choice.py   (letter / number / option text from free text)
mcq_loglik         Loglik       loglik.py   (acc, acc_norm)
truthfulqa_mc1     Loglik       loglik.py
truthfulqa_mc2     Loglik       loglik.py
exact_match        Generation   match.py
normalised_match   Generation   match.py    (Unicode- and Korean-aware)
numeric            Generation   numeric.py  (GSM8K "#### N", currency, commas, signs)
math_equiv         Generation   latex.py    (MATH-500 via math-verify)
=================  ===========  ==========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sovereval.bench.scorers import choice, latex, loglik, match, numeric  # noqa: F401  (registration)
from sovereval.bench.scorers.base import SCORERS, Score, ScorerInfo, scorer
from sovereval.bench.scorers.choice import extract_choice
from sovereval.bench.scorers.numeric import extract_number

if TYPE_CHECKING:
    from sovereval.bench.spec import BenchmarkDecl, Item
    from sovereval.bench.types import Generation, Loglik


def score(decl: BenchmarkDecl, item: Item, response: Generation | Loglik) -> Score:
    """Score one response with the declaration's scorer and parameters."""
    return SCORERS.get(decl.scorer.name)(item, response, **decl.scorer.params)


__all__ = ["SCORERS", "Score", "ScorerInfo", "extract_choice", "extract_number", "score", "scorer"]
