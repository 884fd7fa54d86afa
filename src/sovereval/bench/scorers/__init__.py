"""Scorers, one module per family; each lists its own as ``SCORERS: tuple[ScorerInfo, ...]``.

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

Suites list further scorers (e.g. ``humaneval``, ``ifeval``, ``kobbq``, ``longctx`` in
:mod:`sovereval.bench.suites.core_ii`).  Names resolve in the catalog: ``build().scorers["numeric"]``, and
``build().score(decl, item, response)`` scores with a declaration's scorer and parameters (see
:mod:`sovereval.bench.catalog`).
"""

from __future__ import annotations

from sovereval.bench.scorers.base import Score, ScorerInfo
from sovereval.bench.scorers.choice import extract_choice
from sovereval.bench.scorers.numeric import extract_number

__all__ = ["Score", "ScorerInfo", "extract_choice", "extract_number"]
