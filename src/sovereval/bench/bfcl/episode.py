"""The BFCL episode: one request (with ``tools`` in function-calling mode), decode, AST-check.

It is an episode rather than a plain ``generate`` declaration because the request carries the item's own
tools (and messages), which a text template cannot express.  Its parameters (:class:`BfclParams`) are the
declaration's scorer parameters; the prompting-mode system prompt is the declaration's
``template.system`` (so it is pinned in the declaration's version).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import model_validator

from sovereval.bench.bfcl.checker import ast_check, language_of
from sovereval.bench.bfcl.decode import (
    DecodeError,
    decode_python,
    decode_source_call,
    decode_tool_calls,
    is_call_list,
    is_empty,
)
from sovereval.bench.bfcl.pinned import PinnedFile, data_root_of, load_json
from sovereval.bench.bfcl.schema import language_docs, openai_tools
from sovereval.bench.scorers.base import Score
from sovereval.bench.types import Generation, GenerationRequest, Message
from sovereval.program.spec import Frozen

if TYPE_CHECKING:
    from sovereval.bench.session import EpisodeContext
    from sovereval.bench.spec import BenchmarkDecl, Item

Category = Literal[
    "simple_python", "simple_java", "simple_javascript", "multiple", "parallel", "parallel_multiple",
    "irrelevance", "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_relevance",
    "live_irrelevance",
]
RELEVANCE = ("irrelevance", "live_irrelevance", "live_relevance")


class BfclParams(Frozen):
    category: Category
    #: ``fc``: OpenAI tools, answer in ``tool_calls``; ``prompt``: functions in the system prompt, answer as text
    mode: Literal["fc", "prompt"]
    #: possible_answer file (None for the relevance categories, which have none)
    answers: PinnedFile | None = None
    #: FC mode: dots in function names become underscores (OpenAI's name pattern), as BFCL does for OpenAI
    underscore_to_dot: bool = True

    @model_validator(mode="after")
    def _answers(self) -> BfclParams:
        if (self.category in RELEVANCE) != (self.answers is None):
            raise ValueError(f"BFCL {self.category}: possible answers are needed exactly for the AST categories")
        return self


def params_of(decl: BenchmarkDecl) -> BfclParams:
    return BfclParams.model_validate(decl.scorer.params)


def build_request(decl: BenchmarkDecl, item: Item, p: BfclParams) -> GenerationRequest:
    turns = item.fields["question"]
    if len(turns) != 1:
        raise ValueError(f"{decl.id} item {item.id}: {len(turns)} turns; only single-turn BFCL categories run here")
    functions = item.fields["function"]
    lang = language_of(p.category)
    messages = [dict(m) for m in turns[0]]
    if p.mode == "fc":
        return GenerationRequest(messages=tuple(Message(role=m["role"], content=m["content"]) for m in messages),
                                 tools=openai_tools(functions, lang, underscore_to_dot=p.underscore_to_dot),
                                 sampling=decl.generation)
    if decl.template.system is None:
        raise ValueError(f"{decl.id}: prompting mode needs the BFCL system prompt as template.system")
    system = decl.template.system.format(functions=json.dumps(language_docs(functions, lang), indent=4))
    if messages and messages[0]["role"] == "system":
        messages[0]["content"] = system + "\n\n" + messages[0]["content"]
    else:
        messages.insert(0, {"role": "system", "content": system})
    return GenerationRequest(messages=tuple(Message(role=m["role"], content=m["content"]) for m in messages),
                             sampling=decl.generation)


def decode(response: Generation, p: BfclParams) -> list[Any]:
    if p.mode == "fc":
        return decode_tool_calls(response.tool_calls)
    if language_of(p.category) == "python":
        return decode_python(response.text)
    return decode_source_call(response.text)


def _short(value: Any, n: int = 2000) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= n else text[:n] + "…"


def score_response(item: Item, response: Generation, p: BfclParams, answer: list[Any] | None) -> Score:
    """BFCL's verdict on one response (1 or 0), with the decoded calls and the rule that decided."""
    base = {"category": p.category, "mode": p.mode}
    try:
        decoded: list[Any] | None = decode(response, p)
        why = None
    except DecodeError as e:
        decoded, why = None, str(e)
    if p.category in RELEVANCE:
        called = decoded is not None and not is_empty(decoded)
        ok = called if p.category == "live_relevance" else not called
        return Score(value=1.0 if ok else 0.0, extracted=None if decoded is None else _short(decoded),
                     detail={**base, "called": called, **({"decode_error": why} if why else {})})
    assert answer is not None
    if decoded is None:
        return Score(value=0.0, detail={**base, "error_type": "ast_decoder:decoder_failed", "errors": [why]})
    if not is_call_list(decoded):
        return Score(value=0.0, extracted=_short(decoded),
                     detail={**base, "error_type": "ast_decoder:decoder_wrong_output_format",
                             "errors": ["not a list of {function: {parameter: value}} calls"]})
    check = ast_check(item.fields["function"], decoded, answer, p.category,
                      underscore_to_dot=p.underscore_to_dot and p.mode == "fc")
    detail: dict[str, Any] = {**base, "valid": check.valid}
    if not check.valid:
        detail.update(error_type=check.error_type, errors=[_short(e, 500) for e in check.errors[:4]])
    return Score(value=1.0 if check.valid else 0.0, extracted=_short(decoded), detail=detail)


def answers_by_id(p: BfclParams, ctx: object) -> dict[str, list[Any]]:
    assert p.answers is not None
    rows = load_json(p.answers, data_root_of(ctx), lines=True)
    return {r["id"]: r["ground_truth"] for r in rows}


async def bfcl_episode(decl: BenchmarkDecl, item: Item, ctx: EpisodeContext) -> Score:
    p = params_of(decl)
    answer = None
    if p.answers is not None:
        answers = answers_by_id(p, ctx)
        if item.id not in answers:
            raise KeyError(f"{decl.id}: no possible answer for item {item.id!r} in {p.answers.path}")
        answer = answers[item.id]
    response = await ctx.model(build_request(decl, item, p))
    assert isinstance(response, Generation)
    return score_response(item, response, p, answer)
