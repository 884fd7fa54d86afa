"""The τ² episode: agent, simulated user and domain tools in turns, then τ²'s reward.

The loop follows τ²'s half-duplex orchestrator: the agent's fixed greeting goes to the user; the user
model answers (from τ²'s user-simulator system prompt with the task's scenario, seeing the conversation
with roles flipped); the agent model answers with text (to the user) or tool calls (executed on the
episode's copy of the database, results back to the agent); a user message with ``###STOP###`` or
``###TRANSFER###`` ends the run (``USER_STOP``), ``###OUT-OF-SCOPE###`` aborts it, an agent message with
``###STOP###`` ends it (``AGENT_STOP``); after ``max_steps`` messages (τ²: 200) or ``max_errors`` failed tool
calls (τ²: 10) the run is cut off.  Every model call goes through the episode context's ledger-backed
callers; tool-call ids are assigned here (``call_<n>``), so the episode is a deterministic function of the
declaration, the task and the recorded responses and replays without any model.

Reward (τ²'s ``evaluate_simulation`` with evaluation type ALL): 0 unless the run ended by ``USER_STOP`` or
``AGENT_STOP``; otherwise the product of the task's ``reward_basis`` components — ``DB`` (the database
after the agent's calls equals the database after replaying the task's gold actions on a fresh copy; not
evaluated when a state-changing gold action fails, as τ²), ``COMMUNICATE`` (each ``communicate_info``
string, lower-cased, inside some agent message with commas removed), ``ACTION`` (each gold action matched
by an agent tool call on its ``compare_args``), ``NL_ASSERTION`` (τ²'s judge prompt, answered by the judge
model, one verdict per assertion) — where ``tau2`` (no judge) records ``NL_ASSERTION`` as not evaluated and
leaves it out of the product, which is *not* τ²'s reward and is said so in the score.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from sovereval.bench.bfcl.pinned import PinnedFile, data_root_of, load_json, load_text
from sovereval.bench.scorers.base import Score
from sovereval.bench.session import Caller
from sovereval.bench.tau2.airline import AirlineTools, airline_db
from sovereval.bench.tau2.db import db_diff
from sovereval.bench.tau2.prompts import OUT_OF_SCOPE, STOP, TRANSFER, scenario_text
from sovereval.bench.tau2.retail import RetailTools, retail_db
from sovereval.bench.tau2.toolkit import Toolkit
from sovereval.bench.types import BackendError, Generation, GenerationRequest, Message, Sampling
from sovereval.program.spec import Frozen

if TYPE_CHECKING:
    from sovereval.bench.session import EpisodeContext
    from sovereval.bench.spec import BenchmarkDecl, Item

Termination = Literal["user_stop", "agent_stop", "out_of_scope", "max_steps", "too_many_errors"]
GRADED: tuple[Termination, ...] = ("user_stop", "agent_stop")


class Tau2Params(Frozen):
    domain: Literal["airline", "retail"]
    db: PinnedFile
    policy: PinnedFile
    agent_instruction: str
    first_agent_message: str
    user_guidelines: str
    user_system: str
    user_sampling: Sampling
    max_steps: int = Field(200, ge=1)
    max_errors: int = Field(10, ge=1)
    judge_system: str
    judge_user: str
    judge_sampling: Sampling


DOMAINS: dict[str, tuple[type[Toolkit], Any]] = {"airline": (AirlineTools, airline_db), "retail": (RetailTools, retail_db)}


def params_of(decl: BenchmarkDecl) -> Tau2Params:
    return Tau2Params.model_validate(decl.scorer.params)


def make_env(p: Tau2Params, root: Any) -> Toolkit:
    """A fresh environment: the domain's tools over a private overlay of the pinned database."""
    cls, make_db = DOMAINS[p.domain]
    return cls(make_db(load_json(p.db, root)))


@dataclass
class Turn:
    role: Literal["assistant", "user", "tool"]
    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str | None = None
    error: bool = False


@dataclass
class Run:
    """One simulated conversation: the trajectory, how it ended, and the agent's environment."""

    trajectory: list[Turn]
    termination: Termination
    steps: int
    tool_errors: int
    env: Toolkit
    model_calls: dict[str, int]


# --------------------------------------------------------------------------------------------------
# The conversation
# --------------------------------------------------------------------------------------------------


def _user_stop(text: str) -> Termination | None:
    if OUT_OF_SCOPE in text:
        return "out_of_scope"
    if STOP in text or TRANSFER in text:
        return "user_stop"
    return None


def _tool_calls(g: Generation, first_id: int) -> list[dict[str, Any]]:
    """The response's tool calls in OpenAI form with episode-assigned ids (``call_<n>``); the arguments as the
    model wrote them (a JSON string; an already parsed object is serialised)."""
    out = []
    for i, tc in enumerate(g.tool_calls):
        fn = tc.get("function") if isinstance(tc, dict) else None
        fn = fn if isinstance(fn, dict) else {}
        args = fn.get("arguments", "{}")
        if not isinstance(args, str):
            args = json.dumps(args, ensure_ascii=False)
        out.append({"id": f"call_{first_id + i}", "type": "function",
                    "function": {"name": str(fn.get("name", "")), "arguments": args}})
    return out


def _arguments(call: dict[str, Any]) -> Any:
    raw = call["function"]["arguments"]
    try:
        return json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as e:
        return _BadArguments(f"the arguments are not valid JSON ({e.msg}): {raw[:200]}")


@dataclass(frozen=True)
class _BadArguments:
    why: str


async def converse(decl: BenchmarkDecl, item: Item, p: Tau2Params, agent: Caller, user: Caller, root: Any) -> Run:
    task = item.fields
    if task.get("initial_state") is not None:
        raise ValueError(f"{decl.id} task {item.id}: initial_state is not supported (none of the shipped airline or "
                         "retail tasks has one)")
    env = make_env(p, root)
    if decl.template.system is None:
        raise ValueError(f"{decl.id}: the agent system prompt (template.system) is missing")
    agent_system = decl.template.system.format(agent_instruction=p.agent_instruction,
                                               domain_policy=load_text(p.policy, root))
    user_system = p.user_system.format(global_user_sim_guidelines_with_persona=p.user_guidelines,
                                       instructions=scenario_text(task["user_scenario"]))
    tools = env.schemas()

    trajectory = [Turn("assistant", p.first_agent_message)]
    agent_view: list[Message] = [Message(role="assistant", content=p.first_agent_message)]
    user_view: list[Message] = [Message(role="user", content=p.first_agent_message)]
    to: Literal["user", "agent", "env"] = "user"
    pending: list[dict[str, Any]] = []
    steps = errors = calls_made = 0
    model_calls = {"agent": 0, "user": 0}
    termination: Termination | None = None
    while termination is None:
        if to == "user":
            g = await user(GenerationRequest(messages=(Message(role="system", content=user_system), *user_view),
                                             sampling=p.user_sampling))
            model_calls["user"] += 1
            assert isinstance(g, Generation)
            text = g.text
            trajectory.append(Turn("user", text))
            user_view.append(Message(role="assistant", content=text))
            agent_view.append(Message(role="user", content=text))
            termination = _user_stop(text)
            to = "agent"
        elif to == "agent":
            g = await agent(GenerationRequest(messages=(Message(role="system", content=agent_system), *agent_view),
                                              tools=tools, sampling=decl.generation))
            model_calls["agent"] += 1
            assert isinstance(g, Generation)
            pending = _tool_calls(g, calls_made)
            calls_made += len(pending)
            text = g.text
            trajectory.append(Turn("assistant", text or None, pending))
            agent_view.append(Message(role="assistant", content=text, tool_calls=tuple(pending)))
            if STOP in text:
                termination = "agent_stop"
            if pending:
                to = "env"
            else:
                to = "user"
                if text:
                    user_view.append(Message(role="user", content=text))
        else:
            for call in pending:
                args = _arguments(call)
                if isinstance(args, _BadArguments):
                    content, error = f"Error: {args.why}", True
                else:
                    result = env.call(call["function"]["name"], args)
                    content, error = result.content, result.error
                errors += error
                trajectory.append(Turn("tool", content, tool_call_id=call["id"], error=error))
                agent_view.append(Message(role="tool", content=content, tool_call_id=call["id"]))
            pending = []
            to = "agent"
        steps += 1
        if to != "env":
            if steps >= p.max_steps:
                termination = "max_steps"
            if errors >= p.max_errors:
                termination = "too_many_errors"
    return Run(trajectory, termination, steps, errors, env, model_calls)


# --------------------------------------------------------------------------------------------------
# The reward
# --------------------------------------------------------------------------------------------------


def _normalise_arg(value: Any) -> Any:
    """τ²'s action-argument normalisation: JSON strings compared as the values they encode."""
    if isinstance(value, str):
        s = value.strip()
        if s.startswith(("{", "[")):
            try:
                return _normalise_arg(json.loads(s))
            except json.JSONDecodeError:
                return value
        return value
    if isinstance(value, dict):
        return {k: _normalise_arg(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise_arg(v) for v in value]
    return value


def _action_matches(action: dict[str, Any], name: str, args: dict[str, Any]) -> bool:
    if action["name"] != name:
        return False
    keys = action.get("compare_args")
    keys = list(args) if keys is None else keys
    if not keys:
        return True
    return ({k: _normalise_arg(v) for k, v in args.items() if k in keys}
            == {k: _normalise_arg(v) for k, v in action["arguments"].items() if k in keys})


def replay_gold(p: Tau2Params, root: Any, actions: list[dict[str, Any]]) -> tuple[Toolkit, list[dict[str, Any]]]:
    """A fresh environment after the task's gold actions, and every gold action that failed."""
    env = make_env(p, root)
    failures = []
    for a in actions:
        if a.get("requestor", "assistant") != "assistant":
            raise ValueError(f"gold action {a.get('action_id')} is requested by {a.get('requestor')!r}; only agent "
                             "actions exist in airline and retail")
        result = env.call(a["name"], a.get("arguments", {}))
        if result.error:
            failures.append({"action_id": a.get("action_id"), "name": a["name"], "mutating": env.mutates(a["name"]),
                             "error": result.content[:300]})
    return env, failures


def communicated(trajectory: list[Turn], info: str) -> bool:
    return any(t.role == "assistant" and t.content and info.lower() in t.content.lower().replace(",", "")
               for t in trajectory)


class JudgeError(BackendError):
    """The judge's answer is not τ²'s NL-assertion JSON: the item cannot be scored (it is not the model's fault)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="invalid")


def _judge_json(text: str) -> Any:
    s = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
    start, end = s.find("{"), s.rfind("}")
    if start < 0 or end < start:
        raise JudgeError(f"no JSON object in the judge's answer: {text[:200]!r}")
    body = s[start:end + 1]
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        try:  # the prompt's own example has a trailing comma; accept that much
            return json.loads(re.sub(r",\s*([}\]])", r"\1", body))
        except json.JSONDecodeError as e:
            raise JudgeError(f"the judge's answer is not JSON ({e.msg}): {text[:200]!r}") from e


async def judge_nl(p: Tau2Params, judge: Caller, trajectory: list[Turn], assertions: list[str]) -> list[dict[str, Any]]:
    conversation = "\n".join(f"{t.role}: {t.content}" for t in trajectory)
    request = GenerationRequest(messages=(
        Message(role="system", content=p.judge_system),
        Message(role="user", content=p.judge_user.format(conversation=conversation, assertions=assertions))),
        sampling=p.judge_sampling)
    g = await judge(request)
    assert isinstance(g, Generation)
    data = _judge_json(g.text)
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list) or len(results) != len(assertions):
        raise JudgeError(f"the judge graded {len(results) if isinstance(results, list) else 'no'} outcomes for "
                         f"{len(assertions)} assertions: {g.text[:200]!r}")
    out = []
    for a, r in zip(assertions, results, strict=True):
        met = r.get("metExpectation") if isinstance(r, dict) else None
        if not isinstance(met, bool):
            raise JudgeError(f"verdict without a boolean metExpectation: {r!r:.200}")
        out.append({"assertion": a, "met": met, "reasoning": str(r.get("reasoning", ""))[:500]})
    return out


async def reward(decl: BenchmarkDecl, item: Item, p: Tau2Params, run: Run, root: Any,
                 judge: Caller | None) -> Score:
    crit = item.fields.get("evaluation_criteria") or {}
    basis = list(crit.get("reward_basis") or ["DB", "COMMUNICATE"])
    agent_calls = [(t.tool_calls, t) for t in run.trajectory if t.role == "assistant" and t.tool_calls]
    detail: dict[str, Any] = {
        "domain": p.domain, "termination": run.termination, "steps": run.steps, "tool_errors": run.tool_errors,
        "model_calls": run.model_calls, "reward_basis": basis,
        "agent_tool_calls": [f"{c['function']['name']}({c['function']['arguments'][:200]})"
                             for calls, _ in agent_calls for c in calls][:40],
    }
    if run.termination not in GRADED:
        detail["note"] = f"terminated prematurely ({run.termination}): reward 0, as τ²"
        return Score(value=0.0, extracted=run.termination, detail=detail)
    unknown = set(basis) - {"DB", "COMMUNICATE", "ACTION", "NL_ASSERTION"}
    if unknown:
        raise ValueError(f"{decl.id} task {item.id}: reward basis {sorted(unknown)} is not reproduced")

    components: dict[str, float | None] = {}
    actions = list(crit.get("actions") or [])
    if "DB" in basis:
        gold, failures = replay_gold(p, root, actions)
        diff = db_diff(gold.db, run.env.db)
        mutating_failed = [f for f in failures if f["mutating"]]
        detail["db_diff"] = diff
        if failures:
            detail["gold_action_errors"] = failures
        components["DB"] = None if (mutating_failed and not diff) else float(not diff)
    if "COMMUNICATE" in basis:
        checks = [{"info": s, "met": communicated(run.trajectory, s)} for s in crit.get("communicate_info") or []]
        detail["communicate"] = checks
        components["COMMUNICATE"] = float(all(c["met"] for c in checks))
    if "ACTION" in basis:
        made = []
        for calls, _ in agent_calls:
            for c in calls:
                args = _arguments(c)
                if isinstance(args, dict):
                    made.append((c["function"]["name"], args))
        matched = [any(_action_matches(a, n, args) for n, args in made) for a in actions]
        detail["actions_matched"] = matched
        components["ACTION"] = float(all(matched))
    if "NL_ASSERTION" in basis:
        assertions = list(crit.get("nl_assertions") or [])
        if not assertions:
            components["NL_ASSERTION"] = 1.0
        elif judge is None:
            components["NL_ASSERTION"] = None
            detail["note"] = ("NL_ASSERTION is in the task's reward basis but no judge was declared: not evaluated, "
                              "left out of the product — this is not τ²'s reward")
        else:
            verdicts = await judge_nl(p, judge, run.trajectory, assertions)
            detail["nl_assertions"] = verdicts
            components["NL_ASSERTION"] = float(all(v["met"] for v in verdicts))
    detail["components"] = components
    detail["not_evaluated"] = [k for k, v in components.items() if v is None]
    value = 1.0
    for v in components.values():
        if v is not None:
            value *= v
    return Score(value=value, extracted=run.termination, detail=detail)


async def play(decl: BenchmarkDecl, item: Item, ctx: EpisodeContext, *, judged: bool) -> tuple[Run, Score]:
    p = params_of(decl)
    root = data_root_of(ctx)
    user = ctx.need_user(decl.id)
    judge = ctx.need_judge(decl.id) if judged else None
    run = await converse(decl, item, p, ctx.model, user, root)
    return run, await reward(decl, item, p, run, root, judge)


async def tau2_episode(decl: BenchmarkDecl, item: Item, ctx: EpisodeContext) -> Score:
    """τ² without a judge: ``NL_ASSERTION`` (when in a task's reward basis) is reported as not evaluated."""
    return (await play(decl, item, ctx, judged=False))[1]


async def tau2_judged_episode(decl: BenchmarkDecl, item: Item, ctx: EpisodeContext) -> Score:
    """τ² with ``NL_ASSERTION`` judged by the judge model (τ²'s prompt)."""
    return (await play(decl, item, ctx, judged=True))[1]
