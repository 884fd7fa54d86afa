"""The explicit catalog: built from plain lists, deterministic, immutable, every name resolving, no cycles.

``sovereval.bench.catalog.build()`` concatenates the lists that family modules export (``DECLARATIONS``,
``SCORERS``, ``EPISODES``, ``ROW_ADAPTERS``, ``GENERATORS``); nothing registers itself on import.  The
content is pinned as it was under the former import-time registries.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sovereval.bench import catalog
from sovereval.bench.catalog import PARTS, Catalog, Part, assemble, build
from sovereval.bench.scorers.base import Score, ScorerInfo
from sovereval.bench.session import EpisodeInfo
from sovereval.bench.spec import Generated, GeneratorInfo, RowAdapterInfo
from sovereval.bench.suites import core

SRC = Path(__file__).resolve().parents[1] / "src"

# --------------------------------------------------------------------------------------------------
# Pinned content: captured from the registries (CATALOG, SCORERS, EPISODES, ROW_ADAPTERS, GENERATORS)
# before they became explicit lists; a change here is a change to what sovereval can run.
# --------------------------------------------------------------------------------------------------

BENCHMARKS = [
    "arc-challenge", "arc-easy", "bfcl-irrelevance", "bfcl-irrelevance-prompt", "bfcl-live-parallel",
    "bfcl-live-parallel-multiple", "bfcl-live-parallel-multiple-prompt", "bfcl-live-parallel-prompt",
    "bfcl-live-relevance", "bfcl-live-relevance-prompt", "bfcl-live-simple", "bfcl-live-simple-prompt",
    "bfcl-multiple", "bfcl-multiple-prompt", "bfcl-parallel", "bfcl-parallel-multiple",
    "bfcl-parallel-multiple-prompt", "bfcl-parallel-prompt", "bfcl-simple-java", "bfcl-simple-java-prompt",
    "bfcl-simple-javascript", "bfcl-simple-javascript-prompt", "bfcl-simple-python", "bfcl-simple-python-prompt",
    "click", "click-gen", "gen-arith-en", "gen-arith-en-fewshot", "gen-arith-en-mcq", "gen-arith-ko",
    "gen-arith-ko-fewshot", "gen-arith-ko-mcq", "gsm8k", "humaneval", "humaneval-completion", "ifeval",
    "ifeval-loose", "kmmlu-criminal-law", "kmmlu-criminal-law-gen", "ko-longctx-128k", "ko-longctx-1k",
    "ko-longctx-32k", "ko-longctx-4k", "kobbq", "kobest-boolq", "kobest-copa", "kobest-hellaswag",
    "kobest-sentineg", "kobest-wic", "komt-bench", "logickor", "math500", "mmlu", "mmlu-gen", "tau2-airline",
    "tau2-retail", "tau2-retail-db", "truthfulqa-gen", "truthfulqa-mc1", "truthfulqa-mc2",
]
SCORERS = {  # name -> the response kind it reads
    "exact_match": "generate", "humaneval": "generate", "ifeval": "generate", "kobbq": "generate",
    "longctx": "generate", "math_equiv": "generate", "mcq_generate": "generate", "mcq_loglik": "loglik",
    "normalised_match": "generate", "numeric": "generate", "truthfulqa_mc1": "loglik", "truthfulqa_mc2": "loglik",
}
EPISODES = {  # name -> (needs_judge, needs_user)
    "bfcl": (False, False), "komt_bench": (True, False), "logickor": (True, False), "tau2": (False, True),
    "tau2_judged": (True, True), "truthfulqa_gen": (True, False),
}
ROW_ADAPTERS = ["gsm8k", "kobest_copa", "komt_bench", "mmlu_subject", "truthfulqa_mc1", "truthfulqa_mc2"]
GENERATORS = ["arith_word_problems", "ko_longctx", "kobbq_cyclic"]


def test_content_is_what_the_registries_held() -> None:
    c = build()
    assert sorted(c.benchmarks) == BENCHMARKS
    assert {n: s.response for n, s in c.scorers.items()} == SCORERS
    assert {n: (e.needs_judge, e.needs_user) for n, e in c.episodes.items()} == EPISODES
    assert sorted(c.row_adapters) == ROW_ADAPTERS
    assert sorted(c.generators) == GENERATORS
    # every table is keyed by its entries' own names
    assert all(d.id == k for k, d in c.benchmarks.items())
    for table in (c.scorers, c.episodes, c.row_adapters, c.generators):
        assert all(v.name == k for k, v in table.items())


# --------------------------------------------------------------------------------------------------
# Deterministic, cached, immutable
# --------------------------------------------------------------------------------------------------


def _fingerprint(c: Catalog) -> str:
    return json.dumps({
        "benchmarks": [(k, d.version) for k, d in c.benchmarks.items()],
        **{attr: [(k, f"{v.fn.__module__}.{v.fn.__qualname__}") for k, v in getattr(c, attr).items()]
           for attr in ("scorers", "episodes", "row_adapters", "generators")},
    })


def test_build_is_deterministic_and_cached() -> None:
    assert build() is build()  # functools.cache: callers pay once
    a, b = assemble(PARTS), assemble(PARTS)  # uncached: two independent assemblies
    assert a == b == build()
    assert _fingerprint(a) == _fingerprint(b) == _fingerprint(build())  # same order, same functions
    assert list(build().benchmarks)[:3] == ["kmmlu-criminal-law", "kmmlu-criminal-law-gen", "click"]  # list order
    assert not hasattr(catalog, "CATALOG")  # no module-level table: build() is the one way in


def test_catalog_is_immutable() -> None:
    c = build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.scorers = c.scorers  # type: ignore[misc]
    with pytest.raises(TypeError):
        c.benchmarks["new"] = c.benchmarks["gsm8k"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del c.scorers["numeric"]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        c.episodes._items = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        c.generators._items["x"] = c.generators["ko_longctx"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.scorers["numeric"].name = "other"  # type: ignore[misc]
    assert sorted(c.scorers) == sorted(SCORERS)


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown scorer 'nope'; known: \['exact_match'"):
        build().scorers["nope"]
    with pytest.raises(KeyError, match="unknown benchmark 'nope'"):
        build().benchmarks["nope"]
    assert "nope" not in build().episodes and build().generators.get("nope") is None


# --------------------------------------------------------------------------------------------------
# Every declaration resolves; a broken list fails naming where
# --------------------------------------------------------------------------------------------------


def test_every_declaration_resolves() -> None:
    c = build()
    for d in c.benchmarks.values():
        assert c.check(d) is d
        if d.mode == "episode":
            assert isinstance(c.episodes[d.scorer.name], EpisodeInfo)
        else:
            assert c.scorers[d.scorer.name].response == d.mode
        for fields in (d.fields, d.fewshot.fields):
            if fields is not None and fields.adapter is not None:
                assert isinstance(c.row_adapters[fields.adapter], RowAdapterInfo)
        if isinstance(d.source, Generated):
            assert isinstance(c.generators[d.source.generator], GeneratorInfo)


def _stub_score(item: object, response: object) -> Score:
    return Score(value=0.0)


async def _stub_episode(decl: object, item: object, ctx: object) -> Score:
    return Score(value=0.0)


@pytest.mark.parametrize(("extra", "first"), [
    (Part("tests.extra", benchmarks=(core.GSM8K,)), "sovereval.bench.suites.core"),
    (Part("tests.extra", scorers=(ScorerInfo("numeric", _stub_score, "generate"),)), "sovereval.bench.scorers.numeric"),
    (Part("tests.extra", episodes=(EpisodeInfo("bfcl", _stub_episode),)), "sovereval.bench.suites.bfcl"),
    (Part("tests.extra", row_adapters=(RowAdapterInfo("gsm8k", lambda row, ctx: row),)), "sovereval.bench.adapters"),
    (Part("tests.extra", generators=(GeneratorInfo("ko_longctx", lambda seed, n: []),)),
     "sovereval.bench.suites.core_ii"),
])
def test_a_duplicate_name_fails_naming_both_places(extra: Part, first: str) -> None:
    with pytest.raises(ValueError, match="declared twice") as e:
        assemble((*PARTS, extra))
    assert f"in {first} and in tests.extra" in str(e.value)


def test_a_declaration_naming_nothing_listed_fails() -> None:
    with pytest.raises(ValueError, match="tests.alone: benchmark 'gsm8k': unknown scorer 'numeric'"):
        assemble((Part("tests.alone", benchmarks=(core.GSM8K,)),))
    scorers_only = Part("tests.scorers", scorers=(ScorerInfo("numeric", _stub_score, "generate"),))
    with pytest.raises(ValueError, match="unknown row adapter 'gsm8k'"):
        assemble((Part("tests.alone", benchmarks=(core.GSM8K,)), scorers_only))
    mcq = build().benchmarks["gen-arith-en-mcq"]  # loglik mode, given a generate scorer
    wrong_mode = mcq.with_(scorer={"name": "numeric"})
    with pytest.raises(ValueError, match="scores generate responses, but the benchmark's mode is 'loglik'"):
        assemble((Part("tests.alone", benchmarks=(wrong_mode,)), scorers_only))


# --------------------------------------------------------------------------------------------------
# No registration by import, no import cycles
# --------------------------------------------------------------------------------------------------


def _imported_after(statement: str) -> list[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(m for m in sys.modules if m.startswith('sovereval'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=SRC.parent)
    return out.stdout.split()


def test_importing_spec_pulls_in_no_scorer_episode_or_suite() -> None:
    loaded = _imported_after("import sovereval.bench.spec")
    assert "sovereval.bench.spec" in loaded
    unwanted = ("sovereval.bench.scorers", "sovereval.bench.session", "sovereval.bench.suites",
                "sovereval.bench.catalog", "sovereval.bench.data", "sovereval.bench.generated")
    assert [m for m in loaded if m.startswith(unwanted)] == []
    # the scorers need the declaration types, not the catalog nor the suites
    loaded = _imported_after("import sovereval.bench.scorers.numeric")
    assert not [m for m in loaded if m.startswith(("sovereval.bench.catalog", "sovereval.bench.suites"))]


def _bench_import_graph() -> dict[str, set[str]]:
    """Module -> the sovereval.bench modules it imports, at top level or inside functions (not TYPE_CHECKING)."""
    mods = {}
    for p in (SRC / "sovereval" / "bench").rglob("*.py"):
        name = ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        mods[name] = p

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for m, p in mods.items():
        tree = ast.parse(p.read_text("utf-8"))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for s in node.body for n in ast.walk(s)}
        pkg = m if p.name == "__init__.py" else m.rpartition(".")[0]
        targets = []
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets += [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
        edges = set()
        for t in targets:
            r = resolve(t)
            while r and r.startswith("sovereval.bench"):  # importing a.b.c runs a.b's __init__ too
                if r != m and not m.startswith(r + "."):
                    edges.add(r)
                r = r.rpartition(".")[0] if r.rpartition(".")[0] in mods else None
        graph[m] = edges
    return graph


def test_no_import_cycle_in_bench() -> None:
    graph = _bench_import_graph()
    assert not [m for m in graph["sovereval.bench.spec"] if m.startswith("sovereval.bench.scorers")]
    seen: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(m: str, path: list[str]) -> None:
        seen[m] = 1
        for n in sorted(graph.get(m, ())):
            if seen.get(n) == 1:
                cycle = path[path.index(n):] + [n]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if n not in seen:
                visit(n, [*path, n])
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m, [m])
