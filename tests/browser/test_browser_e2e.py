"""All four roles end to end in a real browser against a real model (SmolLM2-135M, embedded):
an expert scores a dossier; a user chats with the model and rates it, with TTFT and tokens/s shown;
a juror joins by invitation link and votes in the arena; the admin locks the panel and the sheet
updates.  An XSS payload in a model answer stays inert.  Screenshots of every main page are saved."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from sovereval.bench.metering import Meter
from sovereval.panel.scores import export_ratings
from sovereval.program.records import Rating
from tests.browser.conftest import LiveApp, login, shot

pytestmark = pytest.mark.slow
SECTIONS = {"strategy_technology": 14.0, "results_plans": 10.5, "impact_contribution": 10.5}


def test_expert_scores_a_dossier(page: Any, live: LiveApp) -> None:
    login(page, "expert1")
    shot(page, "01-expert-panel")
    page.click('[data-testid="open-alpha"]')
    assert "Dossier: Team Alpha" in page.content()
    for item, mx in SECTIONS.items():
        page.fill(f"#score_{item}", f"{mx * 0.7:.1f}")
        page.fill(f"#why_{item}", f"Solid evidence for {item.replace('_', ' ')}.")
    page.click('[data-testid="submit-scores"]')
    page.wait_for_selector("#score-status >> text=Scores saved")
    shot(page, "02-expert-dossier-scored")
    # editing and saving again is a new submission (the form got a fresh id); the latest value counts
    page.fill("#score_results_plans", "9.5")
    page.click('[data-testid="submit-scores"]')
    page.wait_for_selector("#score-status >> text=Scores saved")
    expert = live.state.accounts.by_username("expert1")
    mine = live.state.book.current(expert_id=expert.id)
    assert {(t, i) for (_, t, i) in mine} == {("alpha", i) for i in SECTIONS}
    assert mine[(expert.id, "alpha", "results_plans")].value == 9.5
    # the technical report opens, rendered
    page.click("text=report-alpha.md")
    assert page.locator('[data-testid="document"] h1').inner_text().startswith("Team Alpha")


def test_user_chats_with_the_real_model_and_rates(page: Any, live: LiveApp) -> None:
    login(page, "user1")
    shot(page, "03-user-sites")
    page.click('[data-testid="site"] >> nth=0')
    page.click('[data-testid="new-conversation"]')
    page.fill("#prompt", "What is the capital of France? Answer in one sentence.")
    page.click('[data-testid="send"]')
    page.wait_for_selector('[data-testid="metrics"]', timeout=180_000)
    answer = page.locator('[data-testid="answer"]').first.inner_text()
    metrics = page.locator('[data-testid="metrics"]').first.inner_text()
    assert answer.strip(), "the model produced no text"
    m = re.search(r"time to first token ([0-9.]+) s · (\d+) tokens", metrics)
    assert m and float(m.group(1)) > 0 and int(m.group(2)) > 0, metrics
    shot(page, "04-user-chat")
    for item in ("usability", "quality", "speed", "cost_efficiency"):
        page.check(f'[data-testid="rate-{item}-5"]')
    page.fill("#comment", "Fast and short.")
    page.click('[data-testid="submit-rating"]')
    page.wait_for_selector("#rating-result >> text=Rating saved")
    shot(page, "05-user-rated")
    ratings = live.state.users.ratings()
    assert any(r.item == "quality" and r.value == 5.0 for r in ratings)


def test_juror_joins_by_link_and_votes(page: Any, live: LiveApp) -> None:
    link = live.seeded.juror_links[0]
    page.goto(link)
    page.fill("#username", f"juror-{uuid.uuid4().hex[:6]}")
    page.click("button[type=submit]")
    page.wait_for_url("**/arena")
    shot(page, "06-juror-arena")
    page.fill("#prompt", "Name one colour of the sky.")
    page.click('[data-testid="start-battle"]')
    page.wait_for_selector('[data-testid="vote-a"]:not([disabled])', timeout=240_000)
    content = page.content()
    for team in ("Team Alpha", "Team Beta", "Team Gamma"):
        assert team not in content  # blind until the vote
    shot(page, "07-juror-battle")
    page.click('[data-testid="vote-a"]')
    page.wait_for_selector('[data-testid="reveal"]')
    revealed = page.locator('[data-testid="reveal-a"]').inner_text()
    assert revealed.startswith("Team ")
    shot(page, "08-juror-reveal")


def test_admin_locks_the_panel_and_the_sheet_updates(page: Any, live: LiveApp) -> None:
    state = live.state
    experts = [state.accounts.by_username(f"expert{i}") for i in range(1, 6)]
    for n, e in enumerate(experts):
        for team in state.scope.teams:
            if (e.username == "expert1" and team == "alpha") or (e.username == "expert5" and team == "gamma"):
                continue  # expert1 scored alpha in the browser; expert5 is recused from gamma
            state.book.submit(e.id, e.username, team, {i: (mx * (0.5 + 0.08 * n), "ok") for i, mx in SECTIONS.items()},
                              str(uuid.uuid4()))  # fmt: skip
    users = tuple(Rating(panel="user", rater=f"user-seed-{k}", team=t, item=i, value=3.0 + k + (t == "beta"))
                  for k in range(3) for t in state.scope.teams for i in ("usability", "quality", "speed", "cost_efficiency"))  # fmt: skip
    export_ratings(state.db, state.scope, users, "seed", "browser-test-seed", None)
    login(page, "admin")
    shot(page, "09-admin-dashboard")
    page.goto("/admin/sheet")
    assert page.locator('[data-testid="sheet-problem"]').inner_text().startswith("No sheet yet")
    shot(page, "10-admin-sheet-before-lock")
    page.goto("/admin#panel")
    page.click('[data-testid="lock-panel"]')
    page.wait_for_selector('[data-testid="panel-state"] >> text=locked')
    alpha = page.locator('[data-testid="alpha"]').inner_text()
    assert "Krippendorff" in alpha
    page.goto("/admin/sheet")
    cell = page.locator('tr[data-team="alpha"] td[data-col="expert"]').inner_text()
    assert re.match(r"\d+\.\d", cell) and "[" in cell  # estimate with its CI
    total = page.locator('tr[data-team="alpha"] td[data-col="total"]').inner_text()
    assert re.match(r"\d+\.\d", total)
    shot(page, "11-admin-sheet-after-lock")
    page.goto("/admin/arena")
    shot(page, "12-admin-arena")
    page.goto("/admin/audit")
    assert "chain intact" in page.locator('[data-testid="chain"]').inner_text()
    shot(page, "13-admin-audit")


XSS = ('Here you go: <img src=x onerror="window.__xss=1;alert(1)"> <script>window.__xss=2</script> '
       '[click me](javascript:window.__xss=3) <a href="javascript:alert(4)">link</a> **bold**')  # fmt: skip


def test_xss_in_a_model_answer_stays_inert(page: Any, live: LiveApp) -> None:
    """A model answer carrying script payloads (recorded exactly as a streamed answer is) renders as
    inert text on the chat page and in the arena: no script runs, no dialog opens, no element or
    javascript: link is created."""
    state = live.state
    user = state.accounts.by_username("user2")
    site = next(iter(state.sites.values()))
    conv = state.users.conversation(state.users.new_conversation(user.id, "user2", site.team), user.id)
    meter = Meter()
    meter.text.append(XSS)
    meter.tokens, meter.first, meter.ended = 1, meter.started + 0.01, meter.started + 0.02
    state.users.save_turn(conv, "user2", "say something", meter)
    login(page, "user2")
    page.goto(f"/chat/{site.label}?c={conv.public_id}")
    answer = page.locator('[data-testid="answer"]').first
    answer.wait_for()
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert answer.locator("img, script").count() == 0
    hrefs = [a.get_attribute("href") or "" for a in answer.locator("a").all()]
    assert not any(h.lower().startswith("javascript") for h in hrefs)
    assert "onerror" in answer.inner_text()  # shown as text, not executed
    assert answer.locator("strong").inner_text() == "bold"  # Markdown still works
    assert page.evaluate("window.__xss") is None
    shot(page, "14-xss-inert")
    # the same payload as a juror sees it in the arena
    juror = state.accounts.by_username("juror1")
    arena = state.arena
    b = arena.battle(arena.new_battle(juror.id, "juror1", "xss check"), juror.id)
    arena.save_answer(b, "a", meter)
    arena.save_answer(b, "b", meter)
    login(page, "juror1")
    page.goto(f"/arena/battles/{b.public_id}")
    page.locator('[data-testid="answer-a"]').wait_for()
    assert page.evaluate("window.__xss") is None and page.dialogs == []  # type: ignore[attr-defined]
    assert page.locator('[data-testid="answer-a"] img, [data-testid="answer-a"] script').count() == 0


def test_xss_through_the_live_stream_stays_inert(page: Any, live: LiveApp) -> None:
    """The payload goes through the real streaming path: typed as the prompt (shown live and stored) and
    asked back from the real model, whose answer (echoing it or not) streams as text."""
    login(page, "user3")
    page.click('[data-testid="site"] >> nth=1')
    page.click('[data-testid="new-conversation"]')
    page.fill("#prompt", "Repeat exactly: " + XSS)
    page.click('[data-testid="send"]')
    page.wait_for_selector('[data-testid="metrics"]', timeout=180_000)
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []  # type: ignore[attr-defined]
    turn = page.locator('[data-testid="turn"]').first
    assert turn.locator("img, script").count() == 0
    assert "onerror" in turn.locator(".prompt").inner_text()  # the prompt is shown as text
    shot(page, "15-xss-stream-inert")
