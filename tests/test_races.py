"""Requests that race answer as they would one after the other, and leave one row.

Each insert guarded by a unique key (one consent per person, app and resource; one
authenticator app per person; one resource per URI; one passkey user handle per person) may be
tried by parallel requests that each found no row: two tabs, a double click, a retry. They
must not collide into a 500: each answers what the same request sent second would answer
(RFC 9110 §9.2.2: a repeated request has the effect of one), and one row exists.

The requests go over sockets to a threaded live server, released together by a barrier.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from sqlalchemy import func, select

from idp.db import db
from idp.identity import users
from idp.identity.passkeys import PasskeyUserHandle
from idp.identity.two_factor_models import TotpFactor
from idp.oauth.models import Consent
from idp.oauth.resources import Resource
from tests.conftest import CSRF, PASSWORD, REDIRECT_URI, Browser
from tests.oauth.conftest import authorize_url, pkce, query_of
from tests.test_two_factor import code_at, sealed_setup_on, secret_on

PARALLEL = 6


def at_once(browser: Browser, send: Callable[[requests.Session, int], Any]) -> list[Any]:
    """`send(session, i)` for i in 0..PARALLEL-1 on as many threads, released together, each
    with its own HTTP session carrying the browser's cookies."""
    barrier = threading.Barrier(PARALLEL)

    def run(i: int) -> Any:
        session = requests.Session()
        session.cookies.update(browser.http.cookies)
        barrier.wait()
        return send(session, i)

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(run, range(PARALLEL)))


def count(app, model) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def signed_in(server, email: str = "ada@example.com", *, admin: bool = False) -> Browser:
    with server.app.app_context():
        users.create_user(email, "Ada", PASSWORD, is_admin=admin)
    browser = Browser(server)
    assert browser.sign_in(email).status_code == 303
    return browser


def test_parallel_first_consents_each_get_a_code(server, make_client):
    """One person allows one app in several tabs at once: every tab gets its code, as the
    second tab would after the first (OpenID Connect Core §3.1.2.5), and one consent is kept."""
    browser = signed_in(server)
    client = make_client()
    pages = [browser.get(authorize_url(client, pkce()[1])).headers["Location"] for _ in range(6)]
    token = browser.csrf(pages[0])

    answers = at_once(
        browser,
        lambda session, i: session.post(
            server.url + pages[i],
            data={"csrf_token": token, "decision": "allow"},
            allow_redirects=False,
            timeout=20,
        ),
    )

    assert [a.status_code for a in answers] == [302] * PARALLEL, [a.text[:300] for a in answers]
    for answer in answers:
        location = answer.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?")
        assert query_of(location)["state"] == "st-123" and query_of(location)["code"]
    assert count(server.app, Consent) == 1


def test_parallel_two_factor_setups_turn_it_on_once(server, steady_totp_step):
    """The setup form sent several times at once: one answer shows the backup codes, the
    others say it is already on, as a second sending would; one authenticator is kept."""
    browser = signed_in(server)
    page = browser.get("/account/security/two-factor").text
    form = {
        "csrf_token": CSRF.search(page).group(1),  # type: ignore[union-attr]
        "setup": sealed_setup_on(page),
        "code": code_at(secret_on(page), -1),
        "next": "",
    }

    answers = at_once(
        browser,
        lambda session, _: session.post(
            server.url + "/account/security/two-factor",
            data=form,
            allow_redirects=False,
            timeout=20,
        ),
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [303] * (PARALLEL - 1), [a.text[:300] for a in answers]
    assert {a.headers["Location"] for a in answers if a.status_code == 303} == {"/account/security"}
    assert count(server.app, TotpFactor) == 1


def test_parallel_registrations_of_one_resource_keep_one(server):
    """An admin's "Add" sent several times at once: one adds it, the others are refused as a
    second sending is ("already registered"), and one resource exists."""
    browser = signed_in(server, "grace@example.com", admin=True)
    uri = "https://notes.example.com/mcp"
    token = browser.csrf("/admin/resources")
    form = {"csrf_token": token, "uri": uri, "name": "Notes", "scope": "notes:read=Read notes"}

    answers = at_once(
        browser,
        lambda session, _: session.post(
            server.url + "/admin/resources", data=form, allow_redirects=False, timeout=20
        ),
    )

    assert sorted(a.status_code for a in answers) == [303] + [400] * (PARALLEL - 1)
    for refused in (a for a in answers if a.status_code == 400):
        assert f"A resource {uri} is already registered." in refused.text
    assert count(server.app, Resource) == 1


def test_parallel_passkey_ceremonies_share_one_user_handle(server):
    """A person's first passkey ceremonies started at once (WebAuthn L3 §5.4.3: one user
    handle per account): each gets options, all with the same handle, and one is stored."""
    browser = signed_in(server)
    token = browser.csrf("/sign-in")

    answers = at_once(
        browser,
        lambda session, _: session.post(
            server.url + "/account/passkeys/options",
            json={"name": ""},
            headers={"X-CSRFToken": token, "Accept": "application/json"},
            allow_redirects=False,
            timeout=20,
        ),
    )

    assert [a.status_code for a in answers] == [200] * PARALLEL, [a.text for a in answers]
    assert len({a.json()["user"]["id"] for a in answers}) == 1
    assert count(server.app, PasskeyUserHandle) == 1
