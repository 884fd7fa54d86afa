"""KoMT-Bench items joined with their GPT-4 reference answers.

FastChat's judge gets the reference answer of a math, reasoning or coding question from a second file
(``reference_answer_ko/gpt-4.jsonl``: ``question_id``, ``choices[0].turns`` = the two reference turns).
The row adapter :func:`komt_row` (listed as ``komt_bench`` by :mod:`sovereval.bench.suites.judge`) adds
them to each such record as ``ref_turns``, so that an item carries everything its judge prompt needs and an
episode stays a function of (declaration, item, responses).

The reference file is pinned by sha256 and verified on first use.  Row adapters are not told the data
root, so it is found as :func:`sovereval.bench.dataroot.find_data_root` finds it (``$SOVEREVAL_BENCH_DATA``, else
``../shared/benchmarks`` from the working directory); a missing or different file is an error naming it.
(The question file's ``reference`` field — short human answers — is not what FastChat's judge reads, and
is not used.)
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from sovereval.bench.dataroot import ChecksumError, DataError, find_data_root
from sovereval.bench.judge.prompts import KOMT_REFERENCE_CATEGORIES
from sovereval.bench.spec import FileRef, RowContext

KOMT_REFERENCES = FileRef(path="komt_bench/reference_answer_ko/gpt-4.jsonl",
                          sha256="2c949fa6640e10e77f315793f6ae0de2b7f89cd9b5b6d97df19697ad10fa3347")


@lru_cache(maxsize=4)
def _load(root: str, path: str, sha256: str) -> dict[int, tuple[str, ...]]:
    from pathlib import Path

    file = Path(root) / path
    if not file.is_file():
        raise DataError(f"reference answers not found under the data root {root}", file=path)
    raw = file.read_bytes()
    actual = hashlib.sha256(raw).hexdigest()
    if actual != sha256:
        raise ChecksumError(f"sha256 mismatch: expected {sha256}, found {actual} ({file})", file=path)
    out: dict[int, tuple[str, ...]] = {}
    for n, line in enumerate(raw.decode("utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            qid, turns = int(rec["question_id"]), rec["choices"][0]["turns"]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, ValueError) as e:
            raise DataError(f"not a FastChat answer record: {e}", file=path, line=n) from e
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise DataError("choices[0].turns must be a list of strings", file=path, line=n, field="turns")
        out[qid] = tuple(turns)
    return out


def komt_references(ref: FileRef = KOMT_REFERENCES) -> dict[int, tuple[str, ...]]:
    """``question_id -> reference turns`` from the pinned file under the data root."""
    root = find_data_root()
    if root is None:
        raise DataError("needs the data root for the reference answers (set $SOVEREVAL_BENCH_DATA)", file=ref.path)
    assert ref.sha256 is not None
    return _load(str(root), ref.path, ref.sha256)


def komt_row(row: dict[str, Any], ctx: RowContext) -> dict[str, Any]:
    """Row adapter: ``ref_turns`` = the GPT-4 reference turns for math/reasoning/coding, else None."""
    if row.get("category") not in KOMT_REFERENCE_CATEGORIES:
        return {**row, "ref_turns": None}
    qid = int(row["question_id"])
    refs = komt_references()
    if qid not in refs:
        raise ValueError(f"question {qid} ({row['category']}) has no reference answer in {KOMT_REFERENCES.path}")
    return {**row, "ref_turns": list(refs[qid])}
