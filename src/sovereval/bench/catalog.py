"""The catalog: every benchmark declaration, scorer, episode, row adapter and generator, from explicit lists.

Nothing registers itself on import: each family module exports plain tuples (``DECLARATIONS``, ``SCORERS``,
``EPISODES``, ``ROW_ADAPTERS``, ``GENERATORS``), :data:`PARTS` names those modules, and :func:`build`
(cached) concatenates them into a frozen :class:`Catalog` of read-only tables — failing on a name given
twice (naming both places) or a declaration whose scorer, episode, row adapter or generator no part lists::

    from sovereval.bench.catalog import build
    decl = build().benchmarks["mmlu"]
    score = build().score(decl, item, response)   # the declaration's scorer, by name

The real suites' declarations (KMMLU, CLIcK, KoBEST, GSM8K, MATH-500, MMLU, ARC, TruthfulQA) are in
:mod:`sovereval.bench.suites.core`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from sovereval.bench import adapters, generated
from sovereval.bench.scorers import choice, latex, loglik, match, numeric
from sovereval.bench.scorers.base import Score, ScorerInfo
from sovereval.bench.session import EpisodeInfo
from sovereval.bench.spec import (
    BenchmarkDecl,
    Generated,
    GeneratorInfo,
    Item,
    RowAdapterInfo,
)
from sovereval.bench.suites import bfcl as bfcl_suite
from sovereval.bench.suites import core, core_ii
from sovereval.bench.suites import judge as judge_suite
from sovereval.bench.suites import tau2 as tau2_suite
from sovereval.bench.types import Generation, Loglik

# ==================================================================================================
# The catalog: every family's explicit lists, concatenated and checked once
# ==================================================================================================

T = TypeVar("T")


class Lookup(Mapping[str, T]):
    """A read-only ``name -> T`` table, in list order; an unknown name fails with the known ones listed."""

    __slots__ = ("_items", "what")
    what: str
    _items: Mapping[str, T]

    def __init__(self, what: str, items: Mapping[str, T]) -> None:
        object.__setattr__(self, "what", what)
        object.__setattr__(self, "_items", MappingProxyType(dict(items)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"the catalog's {self.what} table is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"the catalog's {self.what} table is read-only")

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.what} {name!r}; known: {sorted(self._items)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Lookup({self.what!r}, {list(self._items)})"


@dataclass(frozen=True)
class Part:
    """One module's contribution: its explicit lists, and where they come from (named in errors)."""

    place: str
    benchmarks: Sequence[BenchmarkDecl] = ()
    scorers: Sequence[ScorerInfo] = ()
    episodes: Sequence[EpisodeInfo] = ()
    row_adapters: Sequence[RowAdapterInfo] = ()
    generators: Sequence[GeneratorInfo] = ()


#: everything the catalog holds, module by module (benchmarks keep this order in ``bench list``)
PARTS: tuple[Part, ...] = (
    Part(core.__name__, benchmarks=core.DECLARATIONS),
    Part(generated.__name__, benchmarks=generated.DECLARATIONS, generators=generated.GENERATORS),
    Part(bfcl_suite.__name__, benchmarks=bfcl_suite.DECLARATIONS, episodes=bfcl_suite.EPISODES),
    Part(core_ii.__name__, benchmarks=core_ii.DECLARATIONS, scorers=core_ii.SCORERS,
         generators=core_ii.GENERATORS),
    Part(judge_suite.__name__, benchmarks=judge_suite.DECLARATIONS, episodes=judge_suite.EPISODES,
         row_adapters=judge_suite.ROW_ADAPTERS),
    Part(tau2_suite.__name__, benchmarks=tau2_suite.DECLARATIONS, episodes=tau2_suite.EPISODES),
    Part(adapters.__name__, row_adapters=adapters.ROW_ADAPTERS),
    Part(choice.__name__, scorers=choice.SCORERS),
    Part(latex.__name__, scorers=latex.SCORERS),
    Part(loglik.__name__, scorers=loglik.SCORERS),
    Part(match.__name__, scorers=match.SCORERS),
    Part(numeric.__name__, scorers=numeric.SCORERS),
)


@dataclass(frozen=True)
class Catalog:
    """Benchmark declarations and the named functions they refer to; immutable, built by :func:`build`."""

    benchmarks: Lookup[BenchmarkDecl]
    scorers: Lookup[ScorerInfo]
    episodes: Lookup[EpisodeInfo]
    row_adapters: Lookup[RowAdapterInfo]
    generators: Lookup[GeneratorInfo]

    def check(self, decl: BenchmarkDecl) -> BenchmarkDecl:
        """``decl`` itself when every name it gives resolves here (its scorer, or its episode in
        ``episode`` mode; row adapters; generator) and its mode is what its scorer reads; else a
        ValueError saying which."""
        try:
            if decl.mode == "episode":
                self.episodes[decl.scorer.name]
            else:
                info = self.scorers[decl.scorer.name]
                if info.response != decl.mode:
                    raise ValueError(f"benchmark {decl.id!r}: scorer {decl.scorer.name!r} scores "
                                     f"{info.response} responses, but the benchmark's mode is {decl.mode!r}")
            for fields in (decl.fields, decl.fewshot.fields):
                if fields is not None and fields.adapter is not None:
                    self.row_adapters[fields.adapter]
            if isinstance(decl.source, Generated):
                self.generators[decl.source.generator]
        except KeyError as e:
            raise ValueError(f"benchmark {decl.id!r}: {e.args[0]}") from None
        return decl

    def score(self, decl: BenchmarkDecl, item: Item, response: Generation | Loglik) -> Score:
        """Score one response with the declaration's scorer and parameters."""
        return self.scorers[decl.scorer.name](item, response, **decl.scorer.params)


def assemble(parts: Iterable[Part]) -> Catalog:
    """The catalog of ``parts``, uncached: their lists concatenated in order; a name given twice fails naming
    both places, and so does a declaration naming something no part lists (see :meth:`Catalog.check`)."""
    kinds = (("benchmarks", "benchmark"), ("scorers", "scorer"), ("episodes", "episode"),
             ("row_adapters", "row adapter"), ("generators", "generator"))
    tables: dict[str, dict[str, Any]] = {attr: {} for attr, _ in kinds}
    places: dict[str, dict[str, str]] = {attr: {} for attr, _ in kinds}
    for part in parts:
        for attr, what in kinds:
            for entry in getattr(part, attr):
                name = entry.id if attr == "benchmarks" else entry.name
                if name in tables[attr]:
                    raise ValueError(f"{what} {name!r} is declared twice: in {places[attr][name]} and in "
                                     f"{part.place}")
                tables[attr][name] = entry
                places[attr][name] = part.place
    catalog = Catalog(**{attr: Lookup(what, tables[attr]) for attr, what in kinds})
    for decl in catalog.benchmarks.values():
        try:
            catalog.check(decl)
        except ValueError as e:
            raise ValueError(f"{places['benchmarks'][decl.id]}: {e}") from None
    return catalog


@functools.cache
def build() -> Catalog:
    """The catalog of :data:`PARTS`, assembled and checked once per process."""
    return assemble(PARTS)

