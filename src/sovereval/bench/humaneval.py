"""HumanEval (Chen et al., 2021): functional correctness of generated Python, run in the sandbox.

The program executed for one sample is, as in the original harness,
``prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"``.  Chat models often answer with a
fenced block and/or the whole function instead of the body; :func:`extract_completion` handles that:

* a fenced code block (```` ```python ```` or plain ```` ``` ````) is taken in place of the raw text
  (the first block that defines the entry point, else the first block);
* code that defines ``def <entry_point>(`` at the top level is a *whole function*: it is appended after
  the prompt (whose stub, a signature plus docstring, is valid Python on its own), so the prompt's
  imports and helper functions stay available and the model's definition replaces the stub;
* anything else is a *body* and is appended to the prompt verbatim; a body whose first line is not
  indented is indented by four spaces.  Base models are cut at :data:`STOP_SEQUENCES` (the paper's).

pass@k uses the unbiased estimator ``1 - C(n-c, k) / C(n, k)`` computed as a product (no huge binomials).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sovereval.bench.sandbox import Limits, Sandbox
from sovereval.bench.types import Generation, GenerationRequest, Message, Sampling

DATA_FILE = "humaneval/HumanEval.jsonl.gz"
DATA_SHA256 = "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef"
#: stop sequences of the original paper for completion (base) models
STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
#: the original harness allows 3 s per problem; the wall limit adds interpreter start-up in the jail
DEFAULT_LIMITS = Limits(wall_s=10.0, cpu_s=6, memory_bytes=1 << 30, nproc=16)
CHAT_INSTRUCTION = (
    "Complete the following Python function. Return the complete function (signature and body) in a single "
    "```python code block, with no explanation.\n\n```python\n{prompt}```"
)

Mode = Literal["body", "function"]


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str


@dataclass(frozen=True)
class ExecResult:
    task_id: str
    passed: bool
    status: str  # the sandbox status ("ok", "failed", "timeout", ...)
    mode: Mode
    detail: str


def load_problems(path: str | Path, *, sha256: str | None = DATA_SHA256) -> list[Problem]:
    """Read ``HumanEval.jsonl.gz`` (checked against the pinned sha256 unless ``sha256=None``)."""
    raw = Path(path).read_bytes()
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise ValueError(f"{path}: sha256 {hashlib.sha256(raw).hexdigest()} is not the pinned {sha256}")
    text = gzip.decompress(raw).decode("utf-8") if str(path).endswith(".gz") else raw.decode("utf-8")
    out = []
    for line in text.splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Problem(task_id=d["task_id"], prompt=d["prompt"], canonical_solution=d["canonical_solution"],
                               test=d["test"], entry_point=d["entry_point"]))
    return out


def problem_from_fields(task_id: str, fields: Mapping[str, Any]) -> Problem:
    return Problem(task_id=task_id, prompt=str(fields["prompt"]), canonical_solution=str(
        fields.get("canonical_solution", "")), test=str(fields["test"]), entry_point=str(fields["entry_point"]))


def build_request(problem: Problem, *, chat: bool, sampling: Sampling | None = None) -> GenerationRequest:
    """A completion request (the prompt itself, the paper's stop sequences) or a chat request."""
    if chat:
        return GenerationRequest(messages=(Message(role="user", content=CHAT_INSTRUCTION.format(
            prompt=problem.prompt)),), sampling=sampling or Sampling(max_tokens=768))
    s = sampling or Sampling(max_tokens=512)
    s = s.model_copy(update={"stop": tuple(dict.fromkeys((*s.stop, *STOP_SEQUENCES)))})
    return GenerationRequest(prompt=problem.prompt, sampling=s)


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+\-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def _defines(code: str, entry_point: str) -> bool:
    return re.search(rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE) is not None


def truncate_at_stop(text: str, stops: Sequence[str] = STOP_SEQUENCES) -> str:
    cut = min((i for s in stops if (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def extract_completion(response: str, entry_point: str) -> tuple[str, Mode]:
    """The code to run from a model response, and whether it is a function body or a whole function."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(response)]
    blocks = [(lang, body) for lang, body in blocks if lang in ("", "python", "py", "python3")] or blocks
    if blocks:
        chosen = next((b for _, b in blocks if _defines(b, entry_point)), blocks[0][1])
        code = chosen
    else:
        code = response
    if _defines(code, entry_point):
        return code, "function"
    if blocks:
        code = code.rstrip() + "\n"
    else:
        code = truncate_at_stop(code)
    first = next((ln for ln in code.splitlines() if ln.strip()), "")
    if first and not first[0].isspace():
        code = "\n".join(("    " + ln) if ln.strip() else ln for ln in code.splitlines()) + "\n"
    return code, "body"


def assemble_program(problem: Problem, completion: str, *, raw: bool = False) -> tuple[str, Mode]:
    """The program the original harness runs; ``raw=True`` skips extraction (canonical solutions)."""
    if raw:
        code, mode = completion, "body"
    else:
        code, mode = extract_completion(completion, problem.entry_point)
    if mode == "function":
        head = problem.prompt if problem.prompt.endswith("\n") else problem.prompt + "\n"
        body = head + "\n" + code
    else:
        body = problem.prompt + code
    return f"{body}\n{problem.test}\ncheck({problem.entry_point})\n", mode


def check_completion(problem: Problem, completion: str, *, sandbox: Sandbox | None = None,
                     raw: bool = False) -> ExecResult:
    """Run the assembled program in the sandbox; passed means it exited 0 (every assertion held)."""
    program, mode = assemble_program(problem, completion, raw=raw)
    res = (sandbox or Sandbox(DEFAULT_LIMITS)).run_python(program, filename="solution.py")
    detail = res.detail if not res.ok else ""
    return ExecResult(task_id=problem.task_id, passed=res.ok, status=res.status, mode=mode, detail=detail[:500])


def check_many(jobs: Iterable[tuple[Problem, str]], *, sandbox: Sandbox | None = None, workers: int = 2,
               raw: bool = False) -> list[ExecResult]:
    """Run many samples, ``workers`` jails at a time; results in input order."""
    sb = sandbox or Sandbox(DEFAULT_LIMITS)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda job: check_completion(job[0], job[1], sandbox=sb, raw=raw), jobs))


# --------------------------------------------------------------------------------------------------
# pass@k
# --------------------------------------------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with ``n`` samples of which ``c`` passed (Chen et al., 2021).

    ``1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k / i)``; 1.0 when fewer than k samples fail.
    """
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"need 0 <= c <= n and k >= 1, got n={n}, c={c}, k={k}")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got {n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64)))


def estimate_pass_at_k(num_samples: Sequence[int], num_correct: Sequence[int], k: int) -> np.ndarray:
    """Per-problem pass@k (mean it for the benchmark number)."""
    return np.array([pass_at_k(n, c, k) for n, c in zip(num_samples, num_correct, strict=True)])


def summarize(passed: Mapping[str, Sequence[bool]], ks: Sequence[int] = (1, 10, 100)) -> dict[str, float]:
    """``{"pass@1": ..., "pass@10": ...}`` over problems; a k is reported only if every problem has >= k samples."""
    ns = [len(v) for v in passed.values()]
    cs = [sum(bool(x) for x in v) for v in passed.values()]
    if not ns:
        return {}
    return {f"pass@{k}": float(estimate_pass_at_k(ns, cs, k).mean()) for k in ks if k <= min(ns)}


# --------------------------------------------------------------------------------------------------
# Scorer: (item, response) -> Score
# --------------------------------------------------------------------------------------------------


def score_humaneval(item: Any, response: Generation, *, sandbox: Sandbox | None = None) -> Any:
    """The ``humaneval`` scorer's core (listed in :mod:`sovereval.bench.suites.core_ii`): ``item.fields``
    holds ``prompt``, ``test``, ``entry_point``.

    ``value`` is 1.0 when the sample passes (pass@1 per sample; pass@k comes from :func:`summarize`).
    """
    from sovereval.bench.scorers.base import Score

    problem = problem_from_fields(item.id, item.fields)
    res = check_completion(problem, response.text, sandbox=sandbox)
    return Score(value=float(res.passed), extracted=res.mode,
                 detail={"status": res.status, "mode": res.mode, "reason": res.detail})
