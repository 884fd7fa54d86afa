"""The expert panel end to end: assignment and recusal, private scores, validation, idempotent
submits, lock -> store ratings -> scoring engine (trimmed mean), unlock/re-lock with reasons, audit,
Krippendorff's alpha and outlier raters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sovereval.panel.assign import PanelError
from sovereval.panel.reliability import krippendorff_alpha, reliability
from sovereval.web.testing import Env

SECTIONS = {"strategy_technology": 14.0, "results_plans": 10.5, "impact_contribution": 10.5}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(f"sqlite:///{tmp_path / 'web.db'}")
    yield e
    e.close()


def _form(csrf: str, frac: float, why: str = "reasoned", submission: str | None = None) -> dict[str, str]:
    data = {"csrf": csrf, "submission": submission or str(uuid.uuid4())}
    for item, mx in SECTIONS.items():
        data[f"score_{item}"] = f"{mx * frac:.1f}"
        data[f"why_{item}"] = why
    return data


def _score_all(env: Env, fracs: dict[int, float]) -> None:
    for i, frac in fracs.items():
        c, csrf = env.client(f"expert{i}")
        for team in env.state.scope.teams:
            r = c.post(f"/panel/teams/{team}/scores", data=_form(csrf, frac + (0.05 if team == "alpha" else 0)),
                       follow_redirects=False)  # fmt: skip
            assert r.status_code == (400 if (i == 5 and team == "gamma") else 303), (i, team, r.text[:200])


def test_recused_expert_cannot_see_or_score(env: Env) -> None:
    c, csrf = env.client("expert5")  # the demo's expert5 declared a conflict with gamma
    page = c.get("/panel").text
    assert "recused" in page and 'href="/panel/teams/gamma"' not in page
    assert c.get("/panel/teams/gamma").status_code == 403
    r = c.post("/panel/teams/gamma/scores", data=_form(csrf, 0.5), follow_redirects=False)
    assert r.status_code == 400 and "recused" in r.text
    # self-recusal through the page
    r = c.post("/panel/conflicts", data={"csrf": csrf, "team": "beta", "reason": "co-author"}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/panel/teams/beta").status_code == 403
    # an expert not assigned to a team cannot open it either
    admin, acsrf = env.client("admin")
    e1 = env.state.accounts.by_username("expert1")
    assert e1 is not None
    admin.post("/admin/assignments", data={"csrf": acsrf, "expert": str(e1.id), "team": "beta", "active": "0"})
    c1, _ = env.client("expert1")
    assert c1.get("/panel/teams/beta").status_code == 403


def test_admin_records_a_conflict(env: Env) -> None:
    admin, csrf = env.client("admin")
    e2 = env.state.accounts.by_username("expert2")
    r = admin.post("/admin/conflicts", data={"csrf": csrf, "expert": str(e2.id), "team": "alpha",  # type: ignore[union-attr]
                                             "reason": "named by the applicant"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    c, _ = env.client("expert2")
    assert c.get("/panel/teams/alpha").status_code == 403
    assert "named by the applicant" in admin.get("/admin").text


def test_validation_and_double_submit(env: Env) -> None:
    c, csrf = env.client("expert1")
    bad = _form(csrf, 0.5) | {"score_strategy_technology": "15"}
    assert c.post("/panel/teams/alpha/scores", data=bad).status_code == 400
    nojust = _form(csrf, 0.5) | {"why_results_plans": "  "}
    r = c.post("/panel/teams/alpha/scores", data=nojust)
    assert r.status_code == 400 and "justification" in r.text
    form = _form(csrf, 0.5, submission="fixed-submission-1")
    r1 = c.post("/panel/teams/alpha/scores", data=form, headers={"HX-Request": "true"})
    r2 = c.post("/panel/teams/alpha/scores", data=form, headers={"HX-Request": "true"})
    assert "Scores saved" in r1.text and "duplicate" in r2.text
    scores = env.state.book.current()
    assert len(scores) == 3
    events = [e for e in env.state.store.audit_events() if e.action == "panel_score"]
    assert len(events) == 1


def test_scores_are_private_until_lock(env: Env) -> None:
    _score_all(env, {1: 0.5, 2: 0.6})
    c, _ = env.client("expert1")
    page = c.get("/panel/teams/alpha").text
    assert "Other experts" not in page and "expert-" not in page
    admin, csrf = env.client("admin")
    assert admin.post("/admin/panel/lock", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    page = c.get("/panel/teams/alpha").text
    e2 = env.state.accounts.by_username("expert2")
    assert "Other experts" in page and f"expert-{e2.id}" in page  # type: ignore[union-attr]


def test_lock_feeds_the_scoring_engine(env: Env) -> None:
    fracs = {1: 0.50, 2: 0.60, 3: 0.70, 4: 0.80, 5: 0.95}
    _score_all(env, fracs)
    admin, csrf = env.client("admin")
    r = admin.post("/admin/panel/lock", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "input%20batch" in r.headers["location"]
    state = env.state
    inputs = state.store.current_inputs("web-demo", "stage1")
    ratings = [r for r in inputs.ratings if r.panel == "expert"]
    assert len(ratings) == 5 * 3 * 3 - 3  # expert5 recused from gamma
    assert all(r.comment == "reasoned" and r.rater.startswith("expert-") for r in ratings)
    # locked: no more changes
    c, ecsrf = env.client("expert1")
    r = c.post("/panel/teams/alpha/scores", data=_form(ecsrf, 0.1))
    assert r.status_code == 400 and "locked" in r.text
    # the sheet is not complete until the user panel exports; the engine is what aggregates
    users = [(f"user-{i}", t, it, 4.0 + i * 0.5) for i in range(3) for t in state.scope.teams
             for it in ("usability", "quality", "speed", "cost_efficiency")]  # fmt: skip
    from sovereval.panel.scores import export_ratings
    from sovereval.program.records import Rating

    export_ratings(state.db, state.scope, tuple(Rating(panel="user", rater=r, team=t, item=it, value=v)
                                                for r, t, it, v in users), "test", "test", None)  # fmt: skip
    view = state.sheets.current("test")
    assert view.sheet is not None, view.problem
    beta = view.sheet.row("beta").cells["expert_panel"]
    # beta: five raters at 50..95 % -> trimmed mean drops 50 and 95 -> (60+70+80)/3 = 70 % of 35 points
    assert beta.estimate == pytest.approx(0.70 * 35, abs=0.05)
    assert beta.lo <= beta.estimate <= beta.hi and beta.hi > beta.lo
    gamma = view.sheet.row("gamma").cells["expert_panel"]  # four raters (one recused): plain mean
    assert gamma.estimate == pytest.approx(np.mean([0.5, 0.6, 0.7, 0.8]) * 35, abs=0.1)  # form rounds to 0.1
    page = admin.get("/admin/sheet").text
    assert 'data-col="expert_panel"' in page and "sheet-problem" not in page


def test_unlock_and_relock_need_reasons_and_are_audited(env: Env) -> None:
    _score_all(env, {1: 0.5, 2: 0.6, 3: 0.7})
    admin, csrf = env.client("admin")
    admin.post("/admin/panel/lock", data={"csrf": csrf})
    r = admin.post("/admin/panel/unlock", data={"csrf": csrf, "reason": " "})
    assert r.status_code == 400 and "reason" in r.text
    assert admin.post("/admin/panel/unlock", data={"csrf": csrf, "reason": "expert1 typo in section 2"},
                      follow_redirects=False).status_code == 303  # fmt: skip
    c, ecsrf = env.client("expert1")
    assert c.post("/panel/teams/alpha/scores", data=_form(ecsrf, 0.9), follow_redirects=False).status_code == 303
    r = admin.post("/admin/panel/lock", data={"csrf": csrf})
    assert r.status_code == 400 and "reason" in r.text
    r = admin.post("/admin/panel/lock", data={"csrf": csrf, "reason": "corrected typo"}, follow_redirects=False)
    assert r.status_code == 303
    e1 = env.state.accounts.by_username("expert1")
    hist = env.state.store.history("web-demo", "stage1", "rating", "expert", f"expert-{e1.id}", "alpha")  # type: ignore[union-attr]
    assert len(hist) == 6 and sum(h.current for h in hist) == 3
    assert {h.batch.reason for h in hist if h.current} == {"corrected typo"}
    actions = [e.action for e in env.state.store.audit_events()]
    for a in ("assign", "declare_conflict", "panel_score", "panel_lock", "panel_export", "panel_unlock"):
        assert a in actions
    ok, msg = env.state.store.verify_audit_chain()
    assert ok, msg
    page = admin.get("/admin/audit").text
    assert "chain intact" in page


def test_dossier_upload_and_safe_rendering(env: Env) -> None:
    admin, csrf = env.client("admin")
    md = b"# Report\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2))"
    r = admin.post("/admin/dossier", data={"csrf": csrf, "team": "beta", "kind": "technical_report"},
                   files={"file": ("report.md", md, "text/markdown")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    bad = admin.post("/admin/dossier", data={"csrf": csrf, "team": "beta", "kind": "technical_report"},
                     files={"file": ("r.pdf", b"not a pdf", "application/pdf")})  # fmt: skip
    assert bad.status_code == 400
    pdf = admin.post("/admin/dossier", data={"csrf": csrf, "team": "beta", "kind": "training_log"},
                     files={"file": ("log.pdf", b"%PDF-1.4 demo", "application/pdf")}, follow_redirects=False)  # fmt: skip
    assert pdf.status_code == 303
    c, _ = env.client("expert1")
    page = c.get("/panel/teams/beta").text
    doc = env.state.dossiers.documents("beta")
    assert "report.md" in page and "Independence verdict" in page and "math" in page
    shown = c.get(f"/panel/teams/beta/documents/{doc['technical_report'].id}").text
    body = shown.split('data-testid="document"')[1]
    assert "<script>" not in body and "&lt;script&gt;" in body and 'href="javascript' not in body
    dl = c.get(f"/panel/teams/beta/documents/{doc['training_log'].id}")
    assert dl.headers["content-disposition"].startswith("attachment") and dl.content.startswith(b"%PDF")
    # a document of another team is not reachable through this team's URL
    assert c.get(f"/panel/teams/alpha/documents/{doc['training_log'].id}").status_code == 404


def test_panel_errors_direct(env: Env) -> None:
    state = env.state
    with pytest.raises(PanelError, match="not in stage"):
        state.assignments.assign("t", 1, "nope")
    with pytest.raises(PanelError, match="reason"):
        state.assignments.declare_conflict("t", 1, "alpha", "")
    with pytest.raises(PanelError, match="not locked"):
        state.book.unlock("t", "why")


# -- reliability ------------------------------------------------------------------------------------


def test_alpha_agrees_with_known_values() -> None:
    perfect = np.array([[1, 2, 3, 4, 5.0], [1, 2, 3, 4, 5.0], [1, 2, 3, 4, 5.0]])
    assert krippendorff_alpha(perfect) == pytest.approx(1.0)
    # Krippendorff (2011) interval example, reliability data with missing values
    nan = np.nan
    data = np.array([
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ])  # fmt: skip
    assert krippendorff_alpha(data) == pytest.approx(0.849, abs=0.001)
    assert krippendorff_alpha(np.array([[1.0, nan], [nan, 2.0]])) is None


def test_outlier_rater_is_flagged() -> None:
    rng = np.random.default_rng(3)
    truth = rng.uniform(40, 90, size=12)
    values = {}
    for r in range(5):
        for u, t in enumerate(truth):
            values[(f"r{r}", f"u{u}")] = t + rng.normal(0, 3)
    for u, t in enumerate(truth):
        values[("contrarian", f"u{u}")] = 130 - t  # anti-correlated
    rel = reliability(values)
    flagged = {r.rater for r in rel.raters if r.flagged}
    assert flagged == {"contrarian"}
    assert rel.alpha is not None and rel.alpha < reliability({k: v for k, v in values.items() if k[0] != "contrarian"}).alpha  # type: ignore[operator]
