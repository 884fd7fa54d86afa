"""What the judged protocols share: typed settings, the model's turns, judge calls, unusable judgements.

Settings live in the declaration (``scorer.params``) and are read through :func:`settings`, a typed,
frozen model: a misspelt or ill-typed parameter is an error naming the benchmark and the field.

The model under test answers multi-turn items as a chat: turn *k* is sent with the earlier questions and
the model's own (stripped) earlier answers, as FastChat's ``gen_model_answer`` and LogicKor's generator do.
The same function produces the answers for single grading and for pairwise comparison, so both issue the
same requests and meet the same ledger entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, ValidationError

from sovereval.bench.judge.prompts import PROMPT_SETS
from sovereval.bench.session import Caller
from sovereval.bench.spec import BenchmarkDecl, Item
from sovereval.bench.types import BackendError, Generation, GenerationRequest, Message, Sampling
from sovereval.program.spec import Frozen

Protocol = Literal["komt-bench", "logickor", "truthfulqa-gen"]


class JudgeSettings(Frozen):
    """``scorer.params`` of a judged declaration."""

    protocol: Protocol
    #: sha256 of the protocol's pinned prompt set (:attr:`PromptSet.sha256`); checked on every item
    judge_prompts_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    judge_max_tokens: int = Field(2048, ge=1)
    judge_temperature: float = Field(0.0, ge=0)
    #: an unusable judgement (unparseable, ambiguous, out of range): ``exclude`` leaves it out of the
    #: item's mean (an item with no usable judgement has no score and is reported as a failure);
    #: ``lowest`` counts it as the lowest grade of the scale (0 for a binary judgement), flagged in detail
    unparseable: Literal["exclude", "lowest"] = "exclude"
    #: KoMT-Bench: answer temperature per category (FastChat temperature_config), else ``default_temperature``
    temperature_by_category: dict[str, float] = Field(default_factory=dict)
    default_temperature: float | None = None
    #: KoMT-Bench: the square-root penalty for turns not answered in Korean (``none`` switches it off)
    korean_penalty: Literal["sqrt", "none"] = "none"
    korean_min_share: float = Field(0.2, ge=0, le=1)
    penalty_exempt: tuple[int, ...] = ()
    #: TruthfulQA: the item's value — truthful and informative (the paper's combined metric) or truthful
    metric: Literal["truthful_and_informative", "truthful"] = "truthful_and_informative"
    #: for the record only: the reference answers' file (``path@sha256``) the items were joined with
    references: str | None = None


def settings(decl: BenchmarkDecl) -> JudgeSettings:
    try:
        s = JudgeSettings.model_validate(decl.scorer.params)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(all)"
        raise ValueError(f"{decl.id}: scorer.params field {where!r}: {first['msg']}") from None
    pinned = PROMPT_SETS[s.protocol].sha256
    if s.judge_prompts_sha256 != pinned:
        raise ValueError(f"{decl.id}: scorer.params.judge_prompts_sha256 is {s.judge_prompts_sha256[:12]}…, but "
                         f"the pinned {s.protocol} judge prompts hash to {pinned[:12]}…: the prompts changed "
                         f"since this declaration was made (a new declaration and new judge calls are needed)")
    return s


def judge_sampling(s: JudgeSettings) -> Sampling:
    return Sampling(max_tokens=s.judge_max_tokens, temperature=s.judge_temperature, seed=0)


class JudgeUnscorable(BackendError):
    """An item none of whose judgements could be used (policy ``exclude``): it gets no score.

    A :class:`BackendError` of kind ``invalid`` (never retried) so that the episode runner records the
    item as a failure with this message instead of a score: the item is neither counted as 0 nor dropped
    silently.  The judge's raw outputs are in the ledger.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="invalid")


# --------------------------------------------------------------------------------------------------
# The model's side
# --------------------------------------------------------------------------------------------------


def questions(decl: BenchmarkDecl, item: Item, s: JudgeSettings) -> tuple[str, str]:
    """The two user turns of a KoMT-Bench or LogicKor item."""
    key = {"komt-bench": "turns", "logickor": "questions"}.get(s.protocol)
    if key is None:
        raise ValueError(f"{decl.id}: protocol {s.protocol!r} has no turns")
    turns = item.fields.get(key)
    if not isinstance(turns, list | tuple) or len(turns) < 2 or not all(isinstance(t, str) for t in turns[:2]):
        raise ValueError(f"{decl.id}: item {item.id!r}: field {key!r} must hold at least two questions, "
                         f"found {turns!r:.80}")
    # LogicKor item 3 carries a third, near-duplicate question; its generator uses questions[0] and [1] only
    return turns[0], turns[1]


def references(decl: BenchmarkDecl, item: Item, s: JudgeSettings) -> tuple[str | None, str | None]:
    """Reference answers per turn (None: the judge prompt has none for that turn)."""
    key = {"komt-bench": "ref_turns", "logickor": "references"}[s.protocol]
    refs = item.fields.get(key)
    if refs is None:
        return None, None
    if not isinstance(refs, list | tuple) or len(refs) < 2:
        raise ValueError(f"{decl.id}: item {item.id!r}: field {key!r} must hold two references, found {refs!r:.80}")
    return tuple(r if isinstance(r, str) and r else None for r in refs[:2])  # type: ignore[return-value]


def answer_sampling(decl: BenchmarkDecl, item: Item, s: JudgeSettings) -> Sampling:
    g = decl.generation
    temperature = g.temperature
    if s.temperature_by_category or s.default_temperature is not None:
        category = str(item.fields.get("category", ""))
        fallback = s.default_temperature if s.default_temperature is not None else g.temperature
        temperature = s.temperature_by_category.get(category, fallback)
    return g.model_copy(update={"temperature": temperature})


def _text(response: Any) -> str:
    if not isinstance(response, Generation):
        raise TypeError(f"expected a Generation, got {type(response).__name__}")
    return response.text


async def model_turns(decl: BenchmarkDecl, item: Item, model: Caller) -> tuple[str, ...]:
    """The model's answers to the item's turns, each asked with the conversation so far (stripped)."""
    s = settings(decl)
    sampling = answer_sampling(decl, item, s)
    system = (Message(role="system", content=decl.template.system),) if decl.template.system else ()
    history: list[Message] = []
    answers: list[str] = []
    for q in questions(decl, item, s):
        history.append(Message(role="user", content=decl.template.query.format_map({**item.fields, "turn": q})))
        answer = _text(await model(GenerationRequest(messages=(*system, *history), sampling=sampling))).strip()
        answers.append(answer)
        history.append(Message(role="assistant", content=answer))
    return tuple(answers)


async def ask_judge(judge: Caller, messages: Sequence[Message], s: JudgeSettings) -> tuple[str, str]:
    """``(judge output, ledger key)``."""
    request = GenerationRequest(messages=tuple(messages), sampling=judge_sampling(s))
    key = judge.key(request)
    return _text(await judge(request)), key


def tail(text: str, n: int = 240) -> str:
    return text if len(text) <= n else "…" + text[-n:]
