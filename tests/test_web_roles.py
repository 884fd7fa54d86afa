"""Accounts and roles: every route refuses every wrong role (the role matrix), anonymous requests are
sent to log in, state-changing requests need a CSRF token, invitations work once, passwords are hashed,
logout ends the session, and rate limits apply."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from sovereval.store.web_schema import WebAccount
from sovereval.web.accounts import ROLES, AccountError
from sovereval.web.app import api_routes
from sovereval.web.passwords import hash_password, verify_password
from sovereval.web.security import Limit, RateLimits
from sovereval.web.testing import GENEROUS, Env

PRINCIPALS = {"admin": "admin", "expert": "expert1", "user": "user1", "juror": "juror1"}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(f"sqlite:///{tmp_path / 'web.db'}")
    yield e
    e.close()


def _routes(env: Env) -> list[APIRoute]:
    return api_routes(env.app)


def _fill(path: str, env: Env) -> str:
    label = env.labels()["alpha"]
    values = {"team": "alpha", "label": label, "cid": str(uuid.uuid4()), "bid": str(uuid.uuid4()),
              "doc_id": "1", "side": "a", "token": "not-a-token"}  # fmt: skip
    for k, v in values.items():
        path = path.replace("{" + k + "}", v)
    assert "{" not in path, path
    return path


def test_every_route_declares_its_roles(env: Env) -> None:
    routes = _routes(env)
    assert len(routes) >= 30
    for r in routes:
        roles = (r.openapi_extra or {}).get("x-roles")
        assert roles, f"{r.methods} {r.path} declares no roles"
        assert set(roles) <= set(ROLES) | {"public"}, (r.path, roles)


def test_role_matrix(env: Env) -> None:
    """Each (route, role): refused with 403 exactly when the role is not declared; anonymous -> login."""
    clients = {role: env.client(username) for role, username in PRINCIPALS.items()}
    anon, anon_csrf = env.client()
    checked = 0
    for r in sorted(_routes(env), key=lambda r: r.path == "/logout"):  # logging out last
        declared = set((r.openapi_extra or {})["x-roles"])
        (method,) = r.methods
        path = _fill(r.path, env)
        for role, (client, csrf) in clients.items():
            resp = client.request(method, path, data={"csrf": csrf} if method == "POST" else None,
                                  follow_redirects=False)  # fmt: skip
            allowed = "public" in declared or role in declared
            if allowed:
                assert resp.status_code not in (401, 403), (method, path, role, resp.status_code, resp.text[:300])
            else:
                assert resp.status_code == 403, (method, path, role, resp.status_code)
            checked += 1
        resp = anon.request(method, path, data={"csrf": anon_csrf} if method == "POST" else None,
                            follow_redirects=False)  # fmt: skip
        if "public" in declared:
            assert resp.status_code not in (401, 403), (method, path, "anonymous", resp.status_code)
        elif method == "GET":
            assert resp.status_code == 303 and resp.headers["location"].startswith("/login"), (path, resp.status_code)
        else:
            assert resp.status_code == 401, (method, path, "anonymous", resp.status_code)
        checked += 1
    assert checked == len(_routes(env)) * 5


def test_post_without_csrf_is_refused(env: Env) -> None:
    admin, csrf = env.client("admin")
    for data in ({}, {"csrf": "forged"}, {"csrf": csrf[:-1] + ("0" if csrf[-1] != "0" else "1")}):
        r = admin.post("/admin/invitations", data={"role": "user", **data}, follow_redirects=False)
        assert r.status_code == 403
    r = admin.post("/admin/invitations", data={"role": "user", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    # a token is bound to its session: another session's token does not work
    _other, other_csrf = env.client("admin")
    assert other_csrf != csrf
    r = admin.post("/admin/invitations", data={"role": "user", "csrf": other_csrf}, follow_redirects=False)
    assert r.status_code == 403
    # anonymous forms: double-submit cookie
    anon, _ = env.client()
    r = anon.post("/login", data={"username": "admin", "password": env.password, "csrf": "x"}, follow_redirects=False)
    assert r.status_code == 403


def test_invitation_is_one_time_and_passwords_are_hashed(env: Env) -> None:
    admin, csrf = env.client("admin")
    r = admin.post("/admin/invitations", data={"role": "expert", "note": "n", "csrf": csrf}, follow_redirects=False)
    token = r.headers["location"].split("invite=")[1].split("#")[0]
    anon, anon_csrf = env.client()
    assert anon.get(f"/invite/{token}").status_code == 200
    form = {"username": "newexpert", "display_name": "New", "password": "correct horse battery", "csrf": anon_csrf}
    r = anon.post(f"/invite/{token}", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/panel"
    assert anon.get("/panel").status_code == 200
    again, again_csrf = env.client()
    r = again.post(f"/invite/{token}", data=form | {"username": "other", "csrf": again_csrf}, follow_redirects=False)
    assert r.status_code == 400 and "already been used" in r.text
    with env.state.db.read() as conn:
        stored = conn.scalar(select(WebAccount.password_hash).where(WebAccount.username == "newexpert"))
    assert stored and stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse battery", stored) and not verify_password("wrong", stored)
    assert hash_password("same-password") != hash_password("same-password")  # salted
    with pytest.raises(AccountError, match="at least"):
        env.state.accounts.accept(env.state.accounts.invite("t", "user"), username="shorty", display_name="",
                                  password="short")  # fmt: skip


def test_wrong_password_and_logout(env: Env) -> None:
    anon, csrf = env.client()
    r = anon.post("/login", data={"username": "admin", "password": "wrong-password", "csrf": csrf})
    assert r.status_code == 401
    admin, csrf = env.client("admin")
    assert admin.get("/admin").status_code == 200
    r = admin.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    old = admin.cookies.get("sovereval_session")
    assert old is None or env.state.accounts.session(old) is None
    assert admin.get("/admin", follow_redirects=False).status_code == 303


def test_open_redirect_refused(env: Env) -> None:
    anon, csrf = env.client()
    r = anon.post("/login", data={"username": "admin", "password": env.password, "csrf": csrf,
                                  "next": "//evil.example/x"}, follow_redirects=False)  # fmt: skip
    assert r.headers["location"] == "/admin"


def test_rate_limits(tmp_path: Path) -> None:
    e = Env(f"sqlite:///{tmp_path / 'web.db'}",
            limits=RateLimits(login=Limit(3, 60), write=GENEROUS.write, model=Limit(2, 60)))  # fmt: skip
    try:
        anon, csrf = e.client()
        codes = [anon.post("/login", data={"username": "admin", "password": "nope-nope-nope", "csrf": csrf}).status_code
                 for _ in range(5)]  # fmt: skip
        assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
        user, csrf = e.client()  # another client from the same address shares the limit
        assert user.post("/login", data={"username": "user1", "password": e.password, "csrf": csrf}).status_code == 429
    finally:
        e.close()


def test_security_headers(env: Env) -> None:
    r = env._client_cls(env.app).get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert r.headers["x-frame-options"] == "DENY"
    assert "httponly" in r.headers["set-cookie"].lower()
