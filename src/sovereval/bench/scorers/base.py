"""The scorer contract.

A scorer is a pure function ``(item, response, **params) -> Score``.  ``value`` is in [0, 1];
``extracted`` is what was read from the response (a letter, a number, an expression) so that a
dispute can see exactly what was graded; ``detail`` says which rule fired.  A scorer never raises on
odd model output (that scores 0 with the reason in ``detail``); it raises only on a broken contract
(a gold answer it cannot read, a response of the wrong kind or length), which is a bug upstream.

Each scorer module lists its scorers as ``SCORERS: tuple[ScorerInfo, ...]`` (name, function, response
kind); :func:`sovereval.bench.catalog.build` assembles those lists into the catalog, where declarations
find them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from sovereval.bench.spec import Item
from sovereval.bench.types import Generation, Loglik
from sovereval.program.spec import Frozen


class Score(Frozen):
    value: float = Field(ge=0.0, le=1.0)
    extracted: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


ScorerFn = Callable[..., Score]


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    fn: ScorerFn
    #: the response kind it reads: a Generation ('generate') or a Loglik ('loglik')
    response: Literal["generate", "loglik"]

    def __call__(self, item: Item, response: Generation | Loglik, **params: Any) -> Score:
        expected = Generation if self.response == "generate" else Loglik
        if not isinstance(response, expected):
            raise TypeError(f"scorer {self.name!r} reads {expected.__name__} responses, got "
                            f"{type(response).__name__}")
        return self.fn(item, response, **params)


def mcq_gold(item: Item) -> int:
    if not isinstance(item.answer, int) or not 0 <= item.answer < len(item.choices):
        raise ValueError(f"item {item.id!r}: answer {item.answer!r} is not an index into its "
                         f"{len(item.choices)} options")
    return item.answer
