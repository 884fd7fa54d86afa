"""HumanEval: program assembly, execution in the sandbox, and the unbiased pass@k estimator."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from sovereval.bench.humaneval import (
    DATA_FILE,
    STOP_SEQUENCES,
    Problem,
    assemble_program,
    build_request,
    check_completion,
    check_many,
    estimate_pass_at_k,
    extract_completion,
    load_problems,
    pass_at_k,
    score_humaneval,
    summarize,
)
from sovereval.bench.sandbox import Limits, Sandbox, host_supports_isolation
from sovereval.bench.types import Generation
from tests.helpers import need

DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"


@pytest.fixture(scope="module")
def problems() -> list[Problem]:
    path = DATA_ROOT / DATA_FILE
    need(path.exists(), f"HumanEval data not found at {path}")
    return load_problems(path)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    ok, why = host_supports_isolation()
    need(ok, f"sandbox isolation unavailable: {why}")
    return Sandbox(Limits(wall_s=8, cpu_s=4, nproc=16))


TOY = Problem(
    task_id="toy/0",
    prompt='from typing import List\n\n\ndef add(xs: List[int]) -> int:\n    """Sum of xs."""\n',
    canonical_solution="    return sum(xs)\n",
    test="def check(candidate):\n    assert candidate([1, 2, 3]) == 6\n    assert candidate([]) == 0\n",
    entry_point="add",
)


# --------------------------------------------------------------------------------------------------
# pass@k
# --------------------------------------------------------------------------------------------------


def test_pass_at_k_hand_values() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)  # 1 - 3/5
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(10, 6, 5) == 1.0  # fewer than k failures: some k-subset always passes
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)  # C(199,100)/C(200,100) = 100/200
    assert pass_at_k(1, 1, 1) == 1.0 and pass_at_k(1, 0, 1) == 0.0


def test_pass_at_k_matches_exact_binomials_and_is_stable() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 300)
        c = rng.randint(0, n)
        k = rng.randint(1, n)
        exact = 1.0 if n - c < k else 1 - math.comb(n - c, k) / math.comb(n, k)
        assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)
    # huge n: the binomials would overflow a float, the product does not
    assert 0.0 < pass_at_k(100_000, 3, 1000) < 1.0
    assert pass_at_k(100_000, 3, 1) == pytest.approx(3 / 100_000)


def test_pass_at_k_rejects_bad_input() -> None:
    for n, c, k in [(5, 6, 1), (5, -1, 1), (5, 2, 0), (3, 1, 4)]:
        with pytest.raises(ValueError):
            pass_at_k(n, c, k)


def test_summarize_means_over_problems() -> None:
    res = summarize({"a": [True, False, False, False], "b": [False] * 4, "c": [True] * 4}, ks=(1, 2, 10))
    assert res["pass@1"] == pytest.approx((0.25 + 0 + 1) / 3)
    assert res["pass@2"] == pytest.approx((0.5 + 0 + 1) / 3)  # a: 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert "pass@10" not in res
    assert list(estimate_pass_at_k([4, 4], [1, 4], 1)) == [0.25, 1.0]


# --------------------------------------------------------------------------------------------------
# Assembly and extraction
# --------------------------------------------------------------------------------------------------


def test_assembly_is_the_original_concatenation() -> None:
    program, mode = assemble_program(TOY, TOY.canonical_solution, raw=True)
    assert mode == "body"
    assert program == TOY.prompt + TOY.canonical_solution + "\n" + TOY.test + "\ncheck(add)\n"


def test_extraction_of_chat_answers() -> None:
    fenced_fn = "Sure!\n```python\ndef add(xs):\n    return sum(xs)\n```\nThis sums the list."
    code, mode = extract_completion(fenced_fn, "add")
    assert mode == "function" and code == "def add(xs):\n    return sum(xs)\n"
    code, mode = extract_completion("```\n    return sum(xs)\n```", "add")
    assert mode == "body" and code == "    return sum(xs)\n"
    code, mode = extract_completion("return sum(xs)", "add")  # un-indented body
    assert mode == "body" and code == "    return sum(xs)\n"
    # base-model completion runs on past the function: cut at the paper's stop sequences
    code, mode = extract_completion("    return sum(xs)\n\n\ndef other():\n    pass\n", "add")
    assert mode == "body" and code == "    return sum(xs)\n\n"
    # several blocks: the one that defines the entry point wins
    two = "```python\nimport math\n```\nthen\n```python\ndef add(xs):\n    return math.fsum(xs)\n```"
    assert extract_completion(two, "add")[1] == "function"
    # the whole function after the prompt keeps the prompt's imports/helpers
    program, _ = assemble_program(TOY, fenced_fn)
    assert program.startswith(TOY.prompt) and "def add(xs):\n    return sum(xs)" in program


def test_build_request() -> None:
    base = build_request(TOY, chat=False)
    assert base.prompt == TOY.prompt and set(STOP_SEQUENCES) <= set(base.sampling.stop)
    chat = build_request(TOY, chat=True)
    assert chat.prompt is None and TOY.prompt in chat.messages[0].content


# --------------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------------


def test_toy_right_wrong_and_hostile(sandbox: Sandbox) -> None:
    assert check_completion(TOY, TOY.canonical_solution, sandbox=sandbox, raw=True).passed
    wrong = check_completion(TOY, "    return 6\n", sandbox=sandbox)
    assert not wrong.passed and wrong.status == "failed" and "AssertionError" in wrong.detail
    syntax = check_completion(TOY, "    return (\n", sandbox=sandbox)
    assert not syntax.passed and syntax.status == "failed"
    fenced = check_completion(TOY, "```python\ndef add(xs):\n    return sum(xs)\n```", sandbox=sandbox)
    assert fenced.passed and fenced.mode == "function"
    loop = check_completion(TOY, "    while True:\n        pass\n",
                            sandbox=Sandbox(Limits(wall_s=3, cpu_s=1)))
    assert not loop.passed and loop.status == "timeout"
    hostile = check_completion(TOY, "    import os\n    os.kill(os.getppid(), 9)\n    return sum(xs)\n",
                               sandbox=sandbox)
    assert not hostile.passed and hostile.status == "forbidden"


def test_canonical_solutions_pass_subset(problems: list[Problem], sandbox: Sandbox) -> None:
    subset = problems[::6][:30]
    results = check_many([(p, p.canonical_solution) for p in subset], sandbox=sandbox, raw=True, workers=2)
    assert [r.task_id for r in results if not r.passed] == []
    assert len(results) == 28


def test_wrong_solutions_fail(problems: list[Problem], sandbox: Sandbox) -> None:
    subset = problems[:6]
    results = check_many([(p, "    return None\n") for p in subset], sandbox=sandbox, workers=2)
    assert not any(r.passed for r in results)


def test_scorer_on_real_item(problems: list[Problem], sandbox: Sandbox) -> None:
    from sovereval.bench.spec import Item

    p = problems[0]
    item = Item(id=p.task_id, fields={"prompt": p.prompt, "test": p.test, "entry_point": p.entry_point})
    good = score_humaneval(item, Generation(text=f"```python\n{p.prompt}{p.canonical_solution}```"), sandbox=sandbox)
    assert good.value == 1.0 and good.extracted == "function"
    bad = score_humaneval(item, Generation(text="    return True\n"), sandbox=sandbox)
    assert bad.value == 0.0 and bad.detail["status"] == "failed"


@pytest.mark.slow
def test_all_canonical_solutions_pass(problems: list[Problem], sandbox: Sandbox) -> None:
    assert len(problems) == 164
    results = check_many([(p, p.canonical_solution) for p in problems], sandbox=sandbox, raw=True, workers=2)
    assert [r.task_id for r in results if not r.passed] == []
