"""Row adapters for odd formats: small functions that reshape one raw record before the field mapping.

A declaration names one in ``FieldMap.adapter``; :data:`ROW_ADAPTERS` lists this module's under those
names, and :func:`sovereval.bench.catalog.build` puts them in the catalog.  Suites list their own (e.g.
KoMT-Bench's in :mod:`sovereval.bench.suites.judge`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sovereval.bench.spec import RowAdapterInfo, RowContext


def mmlu_subject(row: dict[str, Any], ctx: RowContext) -> dict[str, Any]:
    """MMLU (cais/mmlu CSV export): the subject comes from the file name, ``<subject>_<split>.csv``."""
    stem = Path(ctx.path).name.removesuffix(".gz").removesuffix(".csv")
    subject = re.sub(r"_(test|dev|val|validation|train)$", "", stem)
    return {**row, "subject": subject, "subject_name": subject.replace("_", " ")}


def gsm8k(row: dict[str, Any], ctx: RowContext) -> dict[str, Any]:
    """GSM8K: ``answer`` is the worked solution ending ``#### N``; keep it as ``solution``, answer = N."""
    solution = str(row["answer"])
    if "####" not in solution:
        raise ValueError("answer has no '#### N' final line")
    final = solution.rsplit("####", 1)[1].strip().replace(",", "")
    return {**row, "solution": solution, "answer": final}


def kobest_copa(row: dict[str, Any], ctx: RowContext) -> dict[str, Any]:
    """KoBEST COPA: the connective lm-eval appends to the premise (원인 -> " 왜냐하면", 결과 -> " 그래서")."""
    connector = {"원인": " 왜냐하면", "결과": " 그래서"}[str(row["question"]).strip()]
    return {**row, "connector": connector}


def _split_answers(s: str) -> list[str]:
    """TruthfulQA's answer lists: ';'-separated, each closed with a period (the original's split_multi_answer)."""
    out = []
    for a in str(s).strip().split(";"):
        a = a.strip()
        if a:
            out.append(a if a.endswith(".") else a + ".")
    return out


def _closed(s: str) -> str:
    s = str(s).strip()
    return s if s.endswith(".") else s + "."


def truthfulqa_mc1(row: dict[str, Any], ctx: RowContext) -> dict[str, Any]:
    """MC1 from the CSV: the best answer (index 0) against every incorrect answer."""
    return {**row, "choices": [_closed(row["Best Answer"])] + _split_answers(row["Incorrect Answers"]), "answer": 0}


def truthfulqa_mc2(row: dict[str, Any], ctx: RowContext) -> dict[str, Any]:
    """MC2 from the CSV: all correct answers (the true set) then all incorrect answers."""
    true, false = _split_answers(row["Correct Answers"]), _split_answers(row["Incorrect Answers"])
    if not true or not false:
        raise ValueError("needs at least one correct and one incorrect answer")
    return {**row, "choices": true + false, "answer": list(range(len(true)))}


ROW_ADAPTERS: tuple[RowAdapterInfo, ...] = (
    RowAdapterInfo("mmlu_subject", mmlu_subject),
    RowAdapterInfo("gsm8k", gsm8k),
    RowAdapterInfo("kobest_copa", kobest_copa),
    RowAdapterInfo("truthfulqa_mc1", truthfulqa_mc1),
    RowAdapterInfo("truthfulqa_mc2", truthfulqa_mc2),
)
