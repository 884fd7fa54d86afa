"""Rendering requests from a declaration's pinned template.

``render(decl, item, fewshot_items)`` builds the text ``preamble + example_sep.join(shot texts + [query])`` where a
shot is ``query + target`` for a few-shot item with its gold option — the layout lm-eval uses
(description, examples joined by the few-shot delimiter, then the question).

- ``loglik`` mode -> :class:`LoglikRequest`: ``context`` is that text; the continuations are ``target``
  rendered for every option.  The leading space belongs to the continuation (``" A"``, ``" Paris"``), not
  to the context, as in lm-eval, so the context never ends in a space the model would not have produced
  (where an original's own text ends in a space, as KoBEST BoolQ's "답변: ", it is kept verbatim).
- ``generate`` mode -> :class:`GenerationRequest`: the text as one user message (after an optional
  system message) when ``template.chat``, otherwise as a raw completion ``prompt``; sampling from the
  declaration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sovereval.bench.spec import BenchmarkDecl, Item, Template
from sovereval.bench.types import GenerationRequest, LoglikRequest, Message
from sovereval.errors import SovereValError


class PromptError(SovereValError, ValueError):
    pass


class _Vars(dict[str, Any]):
    """The placeholders of one item; the derived ones (options block, labels, the option scored) are made
    only when a template asks for them, so an item with more options than labels can still be scored by
    likelihood with a template that never names a label."""

    def __init__(self, t: Template, item: Item, decl_id: str, index: int | None = None) -> None:
        super().__init__(item.fields)
        self.t, self.item, self.decl_id, self.index = t, item, decl_id, index

    def _labels(self) -> tuple[str, ...]:
        n = len(self.item.choices)
        if n > len(self.t.labels):
            raise PromptError(f"{self.decl_id}: item {self.item.id!r} has {n} options but the template has "
                              f"{len(self.t.labels)} labels")
        return self.t.labels[:n]

    def __missing__(self, key: str) -> Any:
        t, item = self.t, self.item
        if key == "labels":
            return ", ".join(self._labels())
        if key == "choices":
            return t.choice_sep.join(_fmt(t.choice_line, {"label": lab, "choice": c}, self.decl_id, item, "choice_line")
                                     for lab, c in zip(self._labels(), item.choices, strict=True))
        if key == "answer":
            return "" if item.answer is None else str(item.answer)
        if key == "choice" and self.index is not None:
            return item.choices[self.index]
        if key == "label" and self.index is not None:
            return self._labels()[self.index]
        raise KeyError(key)

    def available(self) -> list[str]:
        derived = ["labels", "choices", "answer"] + (["label", "choice"] if self.index is not None else [])
        return sorted([*self, *derived])


def _fmt(template: str, variables: dict[str, Any], decl_id: str, item: Item, part: str) -> str:
    try:
        return template.format_map(variables)
    except KeyError as e:
        avail = variables.available() if isinstance(variables, _Vars) else sorted(variables)
        raise PromptError(f"{decl_id}: template {part} uses {{{e.args[0]}}}, which item {item.id!r} does not "
                          f"have (available: {avail})") from None
    except (IndexError, ValueError) as e:
        raise PromptError(f"{decl_id}: template {part}: {e}") from None


def _query(t: Template, item: Item, decl_id: str) -> str:
    q = t.query
    if t.query_no_passage is not None and not str(item.fields.get("passage") or "").strip():
        q = t.query_no_passage
    return _fmt(q, _Vars(t, item, decl_id), decl_id, item, "query")


def _target(t: Template, item: Item, index: int | None, decl_id: str) -> str:
    return _fmt(t.target, _Vars(t, item, decl_id, index), decl_id, item, "target")


def _gold_index(item: Item) -> int | None:
    if isinstance(item.answer, int) and item.choices:
        return item.answer
    if isinstance(item.answer, tuple) and item.answer and item.choices:
        return item.answer[0]
    return None


def render_text(decl: BenchmarkDecl, item: Item, fewshot_items: Sequence[Item] = ()) -> str:
    """The prompt text (context) for ``item`` after its few-shot exemplars, without the request wrapper."""
    t = decl.template
    parts = [_query(t, shot, decl.id) + _target(t, shot, _gold_index(shot), decl.id) for shot in fewshot_items]
    parts.append(_query(t, item, decl.id))
    preamble = _fmt(t.preamble, _Vars(t, item, decl.id), decl.id, item, "preamble") if t.preamble else ""
    return preamble + t.example_sep.join(parts)


def render(decl: BenchmarkDecl, item: Item,
           fewshot_items: Sequence[Item] = ()) -> GenerationRequest | LoglikRequest:
    """The request for ``item``: a LoglikRequest (context + one continuation per option) or a GenerationRequest.

    ``fewshot_items`` come from :func:`sovereval.bench.data.select_fewshot`; their number must be the
    declaration's ``fewshot.k``.
    """
    if len(fewshot_items) != decl.fewshot.k:
        raise PromptError(f"{decl.id}: {len(fewshot_items)} few-shot items given, the declaration asks for "
                          f"{decl.fewshot.k}")
    text = render_text(decl, item, fewshot_items)
    t = decl.template
    if decl.mode == "loglik":
        if not item.choices:
            raise PromptError(f"{decl.id}: loglik mode needs options, item {item.id!r} has none")
        conts = tuple(_target(t, item, i, decl.id) for i in range(len(item.choices)))
        return LoglikRequest(context=text, continuations=conts)
    if t.chat:
        messages = ((Message(role="system", content=t.system),) if t.system else ()) + (
            Message(role="user", content=text),)
        return GenerationRequest(messages=messages, sampling=decl.generation)
    return GenerationRequest(prompt=text, sampling=decl.generation)
