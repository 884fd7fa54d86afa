"""Strict and loose evaluation of IFEval prompts, at prompt and instruction level.

* **strict**: the response as given must follow the instruction.
* **loose**: the instruction counts as followed if *any* of eight transformed responses follows it:
  the response, without its first line, without its last line, without both, and each of those four with
  every markdown ``*`` removed (empty variants are skipped).  This forgives a preamble ("Sure, here is…"),
  a closing remark and bold/italic markup, as in the original.
* **prompt-level** accuracy: the share of prompts whose instructions are *all* followed.
* **instruction-level** accuracy: the share of all instructions (pooled over prompts) that are followed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sovereval.bench.ifeval.instructions import check

DATA_FILE = "ifeval/input_data.jsonl"
DATA_SHA256 = "67ffeee0fcb87c317c5b08a2de85557b4a7e96ada6178aa645b4954fe4b53d49"


@dataclass(frozen=True)
class Prompt:
    key: int | str
    prompt: str
    instruction_ids: tuple[str, ...]
    kwargs: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class PromptResult:
    key: int | str
    instruction_ids: tuple[str, ...]
    strict: tuple[bool, ...]
    loose: tuple[bool, ...]

    @property
    def prompt_strict(self) -> bool:
        return all(self.strict)

    @property
    def prompt_loose(self) -> bool:
        return all(self.loose)


@dataclass(frozen=True)
class Accuracy:
    prompt_strict: float
    prompt_loose: float
    instruction_strict: float
    instruction_loose: float
    n_prompts: int
    n_instructions: int


def load_prompts(path: str | Path, *, sha256: str | None = DATA_SHA256) -> list[Prompt]:
    raw = Path(path).read_bytes()
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise ValueError(f"{path}: sha256 {hashlib.sha256(raw).hexdigest()} is not the pinned {sha256}")
    out = []
    for line in raw.decode("utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Prompt(key=d["key"], prompt=d["prompt"], instruction_ids=tuple(d["instruction_id_list"]),
                              kwargs=tuple(d["kwargs"])))
    return out


def loose_variants(response: str) -> list[str]:
    """The eight loose transformations, non-empty ones only (the response itself first)."""
    lines = response.split("\n")
    base = [response, "\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    variants = base + [v.replace("*", "") for v in base]
    return [v for v in variants if v.strip()]


def _with_prompt(iid: str, kwargs: Mapping[str, Any], prompt: str) -> Mapping[str, Any]:
    if iid == "combination:repeat_prompt" and not kwargs.get("prompt_to_repeat"):
        return {**kwargs, "prompt_to_repeat": prompt}
    return kwargs


def follows_strict(instruction_id: str, response: str, kwargs: Mapping[str, Any] | None = None) -> bool:
    return bool(response.strip()) and check(instruction_id, response, kwargs)


def follows_loose(instruction_id: str, response: str, kwargs: Mapping[str, Any] | None = None) -> bool:
    return any(check(instruction_id, v, kwargs) for v in loose_variants(response))


def evaluate_response(prompt: Prompt, response: str) -> PromptResult:
    strict, loose = [], []
    for iid, kw in zip(prompt.instruction_ids, prompt.kwargs, strict=True):
        kw = _with_prompt(iid, kw, prompt.prompt)
        strict.append(follows_strict(iid, response, kw))
        loose.append(follows_loose(iid, response, kw))
    return PromptResult(key=prompt.key, instruction_ids=prompt.instruction_ids, strict=tuple(strict),
                        loose=tuple(loose))


def accuracy(results: Sequence[PromptResult]) -> Accuracy:
    if not results:
        raise ValueError("no results")
    n_ins = sum(len(r.strict) for r in results)
    return Accuracy(
        prompt_strict=sum(r.prompt_strict for r in results) / len(results),
        prompt_loose=sum(r.prompt_loose for r in results) / len(results),
        instruction_strict=sum(sum(r.strict) for r in results) / n_ins,
        instruction_loose=sum(sum(r.loose) for r in results) / n_ins,
        n_prompts=len(results), n_instructions=n_ins,
    )


def accuracy_by_instruction(results: Iterable[PromptResult], *, loose: bool = False) -> dict[str, float]:
    hits: dict[str, list[bool]] = {}
    for r in results:
        for iid, ok in zip(r.instruction_ids, r.loose if loose else r.strict, strict=True):
            hits.setdefault(iid, []).append(ok)
    return {k: sum(v) / len(v) for k, v in sorted(hits.items())}


def prompt_from_fields(key: str, fields: Mapping[str, Any]) -> Prompt:
    return Prompt(key=key, prompt=str(fields.get("prompt", "")),
                  instruction_ids=tuple(fields["instruction_id_list"]), kwargs=tuple(fields["kwargs"]))


def score_ifeval(item: Any, response: Any, *, mode: str = "strict", level: str = "prompt") -> Any:
    """The ``ifeval`` scorer (listed in :mod:`sovereval.bench.suites.core_ii`): ``item.fields`` holds
    ``prompt``, ``instruction_id_list`` and ``kwargs``.

    ``value``: with ``level="prompt"`` 1.0 when every instruction is followed (``mode`` strict or loose);
    with ``level="instruction"`` the share of this prompt's instructions followed (the pooled
    instruction-level accuracy weights prompts by their instruction count: use :func:`accuracy` on
    ``detail``).  ``detail`` always carries all four judgements per instruction.
    """
    from sovereval.bench.scorers.base import Score

    if mode not in ("strict", "loose") or level not in ("prompt", "instruction"):
        raise ValueError(f"mode must be strict/loose and level prompt/instruction, got {mode!r}, {level!r}")
    res = evaluate_response(prompt_from_fields(item.id, item.fields), response.text)
    flags = res.strict if mode == "strict" else res.loose
    value = float(all(flags)) if level == "prompt" else sum(flags) / len(flags)
    return Score(value=value, extracted=None, detail={
        "instruction_ids": list(res.instruction_ids), "strict": list(res.strict), "loose": list(res.loose),
        "prompt_strict": res.prompt_strict, "prompt_loose": res.prompt_loose,
    })
