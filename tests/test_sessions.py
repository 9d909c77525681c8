"""Sign-in sessions: cookies that no longer name a live session, sign-out, the session list,
revocation (with re-authentication when the sign-in is old), and the sliding expiry.

A cookie whose token is tampered with, unknown, expired or revoked sends the browser to sign in
and removes the cookie (RFC 6265bis §5.6: a Set-Cookie whose Max-Age is 0 or whose Expires is in
the past deletes it). Sign-out and revocation need a CSRF token (OWASP CSRF Prevention Cheat
Sheet) and end the session on the server (OWASP Session Management Cheat Sheet, "Manual Session
Expiration"); revocation is a sensitive action that needs a recent password entry.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from idp.db import db, utcnow
from idp.identity.models import LoginSession
from tests.conftest import PASSWORD, Browser
from tests.support import audit_events, set_cookies

TO_SIGN_IN = "/sign-in?next=%2Faccount"
FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_of(app, browser: Browser) -> LoginSession | None:
    token = browser.cookie()
    assert token
    with app.app_context():
        return db.session.scalar(
            select(LoginSession).where(LoginSession.token_hash == _digest(token))
        )


def _session_id(app, browser: Browser) -> int:
    row = _session_of(app, browser)
    assert row is not None
    return row.id


def _signed_in(http, email: str = "ada@example.com", **headers: str) -> Browser:
    client = Browser(http)
    client.http.headers.update(headers)
    assert client.sign_in(email).status_code == 303
    return client


def _account_with_cookie(http, token: str) -> requests.Response:
    """GET /account sending exactly this session cookie and nothing else."""
    return http.get("/account", cookies={"idp_session": token}, allow_redirects=False, timeout=10)


def _assert_sent_to_sign_in_and_cookie_cleared(response: requests.Response) -> None:
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == TO_SIGN_IN
    cookie = set_cookies(response)["idp_session"]
    assert cookie.value == ""
    assert cookie.clears
    assert cookie.get("Path") == "/"


# --- cookies that name no live session ------------------------------------------------------


def test_tampered_cookie_is_cleared_and_sent_to_sign_in(http, make_user, snapshot):
    make_user("ada@example.com")
    token = _signed_in(http).cookie()
    assert token
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    before = snapshot()

    response = _account_with_cookie(http, tampered)

    _assert_sent_to_sign_in_and_cookie_cleared(response)
    assert snapshot() == before
    # The real token still works: tampering with a copy does not end the session.
    assert _account_with_cookie(http, token).status_code == 200


def test_unknown_token_is_cleared_and_sent_to_sign_in(http, make_user, snapshot):
    make_user("ada@example.com")
    before = snapshot()

    response = _account_with_cookie(http, "x" * 43)

    _assert_sent_to_sign_in_and_cookie_cleared(response)
    assert snapshot() == before


@pytest.mark.settings(IDP_SESSION_TTL="1")
def test_expired_session_is_deleted_cleared_and_sent_to_sign_in(http, make_user, snapshot, clock):
    make_user("ada@example.com")
    client = _signed_in(http)
    before = snapshot()
    clock.advance(1.2)

    response = client.get("/account")

    _assert_sent_to_sign_in_and_cookie_cleared(response)
    after = snapshot()
    assert after["login_session"] == []  # the expired row is removed, nothing is added
    assert {k: v for k, v in after.items() if k != "login_session"} == {
        k: v for k, v in before.items() if k != "login_session"
    }


def test_revoked_session_is_cleared_and_sent_to_sign_in(http, make_user, snapshot, app):
    make_user("ada@example.com")
    laptop = _signed_in(http)
    phone = _signed_in(http)
    assert laptop.get("/account").status_code == 200  # now in the session cache too
    laptop_id = _session_id(app, laptop)

    revoked = phone.submit("/account", action=f"/account/sessions/{laptop_id}/revoke")
    assert revoked.status_code == 303
    before = snapshot()

    response = laptop.get("/account")

    _assert_sent_to_sign_in_and_cookie_cleared(response)
    assert snapshot() == before
    assert laptop.cookie() is None


# --- sign-out --------------------------------------------------------------------------------


def test_sign_out_deletes_the_session(http, make_user, app):
    make_user("ada@example.com")
    client = _signed_in(http)
    token = client.cookie()
    assert token

    response = client.submit("/account", action="/sign-out")

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in"
    assert set_cookies(response)["idp_session"].clears
    with app.app_context():
        assert db.session.scalars(select(LoginSession)).all() == []
    assert audit_events(app)[-1] == "sign_out"
    _assert_sent_to_sign_in_and_cookie_cleared(_account_with_cookie(http, token))


def test_sign_out_without_csrf_token_is_refused(http, make_user, app, snapshot):
    make_user("ada@example.com")
    client = _signed_in(http)
    before = snapshot()

    response = client.submit("/account", action="/sign-out", csrf=False)

    assert response.status_code == 400
    assert "idp_session" not in set_cookies(response)
    assert snapshot() == before
    assert "sign_out" not in audit_events(app)
    assert client.get("/account").status_code == 200


# --- the session list and revocation ---------------------------------------------------------


def test_account_page_lists_sessions_with_device_ip_and_last_seen(http, make_user, app):
    make_user("ada@example.com")
    client = _signed_in(http, **{"User-Agent": FIREFOX_ON_WINDOWS})
    _signed_in(http, **{"User-Agent": "curl/8.5.0"})

    page = client.get("/account").text

    assert "Firefox on Windows" in page
    assert "This device" in page
    assert "127.0.0.1" in page
    with app.app_context():
        rows = db.session.scalars(select(LoginSession)).all()
    assert len(rows) == 2
    for row in rows:
        assert row.ip == "127.0.0.1"
        assert row.last_seen_at.strftime("%Y-%m-%d %H:%M UTC") in page
        assert f'datetime="{row.last_seen_at.isoformat()}"' in page
        assert f"/account/sessions/{row.id}/revoke" in page


def test_revoking_another_session_signs_it_out(http, make_user, app):
    make_user("ada@example.com")
    laptop = _signed_in(http)
    phone = _signed_in(http)
    phone_id = _session_id(app, phone)

    response = laptop.submit("/account", action=f"/account/sessions/{phone_id}/revoke")

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert "The session was signed out." in laptop.get("/account").text
    assert phone.get("/account").headers["Location"] == TO_SIGN_IN
    assert laptop.get("/account").status_code == 200
    assert audit_events(app)[-1] == "session_revoked"


def test_revoking_the_current_session_signs_this_browser_out(http, make_user, app):
    make_user("ada@example.com")
    client = _signed_in(http)
    own_id = _session_id(app, client)

    response = client.submit("/account", action=f"/account/sessions/{own_id}/revoke")

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in"
    assert set_cookies(response)["idp_session"].clears
    assert client.get("/account").headers["Location"] == TO_SIGN_IN
    with app.app_context():
        assert db.session.scalars(select(LoginSession)).all() == []


def test_revoke_others_keeps_only_this_session(http, make_user, app):
    make_user("ada@example.com")
    laptop = _signed_in(http)
    phone = _signed_in(http)
    tablet = _signed_in(http)

    response = laptop.submit("/account", action="/account/sessions/revoke-others")

    assert response.status_code == 303
    assert "Signed out 2 other session(s)." in laptop.get("/account").text
    assert phone.get("/account").headers["Location"] == TO_SIGN_IN
    assert tablet.get("/account").headers["Location"] == TO_SIGN_IN
    with app.app_context():
        assert [row.id for row in db.session.scalars(select(LoginSession))] == [
            _session_id(app, laptop)
        ]
    assert audit_events(app).count("session_revoked") == 2


def test_revoke_all_signs_out_everywhere_including_here(http, make_user, app):
    make_user("ada@example.com")
    laptop = _signed_in(http)
    phone = _signed_in(http)

    response = laptop.submit("/account", action="/account/sessions/revoke-all")

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in"
    assert set_cookies(response)["idp_session"].clears
    assert laptop.get("/account").headers["Location"] == TO_SIGN_IN
    assert phone.get("/account").headers["Location"] == TO_SIGN_IN
    with app.app_context():
        assert db.session.scalars(select(LoginSession)).all() == []


def test_revoking_another_users_session_does_nothing(http, make_user, app, snapshot):
    make_user("ada@example.com")
    make_user("eve@example.com", name="Eve")
    ada = _signed_in(http, "ada@example.com")
    eve = _signed_in(http, "eve@example.com")
    ada_id = _session_id(app, ada)
    before = snapshot()

    response = eve.submit("/account", action=f"/account/sessions/{ada_id}/revoke")

    assert response.status_code == 303
    assert "That session had already ended." in eve.get("/account").text
    assert snapshot() == before
    assert ada.get("/account").status_code == 200
    assert "session_revoked" not in audit_events(app)


@pytest.mark.settings(IDP_SESSION_FRESH_AGE="1")
def test_stale_session_must_confirm_the_password_before_revoking(
    http, make_user, app, snapshot, clock
):
    make_user("ada@example.com")
    laptop = _signed_in(http)
    phone = _signed_in(http)
    phone_id = _session_id(app, phone)
    revoke = f"{http.base}/account/sessions/{phone_id}/revoke"
    csrf = laptop.csrf("/account")
    clock.advance(1.2)
    before = snapshot()

    refused = laptop.http.post(
        revoke, data={"csrf_token": csrf, "next": "/account"}, allow_redirects=False
    )

    assert refused.status_code in (302, 303)
    assert refused.headers["Location"] == "/confirm?next=%2Faccount"
    assert snapshot() == before
    assert phone.get("/account").status_code == 200

    wrong = laptop.submit(
        "/confirm?next=%2Faccount", action="/confirm", password="not-" + PASSWORD, next="/account"
    )
    assert wrong.status_code == 400
    assert "The password is incorrect." in wrong.text
    assert snapshot() == before

    right = laptop.submit(
        "/confirm?next=%2Faccount", action="/confirm", password=PASSWORD, next="/account"
    )
    assert right.status_code == 303
    assert right.headers["Location"] == "/account"
    # Fresh for one second only: post straight away, with the token read earlier.
    revoked = laptop.http.post(
        revoke, data={"csrf_token": csrf, "next": "/account"}, allow_redirects=False
    )
    assert revoked.status_code == 303
    assert revoked.headers["Location"] == "/account"
    assert phone.get("/account").headers["Location"] == TO_SIGN_IN


# --- sliding expiry --------------------------------------------------------------------------


def _age_session(app, session_id: int, by: timedelta) -> LoginSession:
    """Move a session's last activity back in time; returns the row as it then is."""
    with app.app_context():
        row = db.session.get(LoginSession, session_id)
        assert row is not None
        row.last_seen_at -= by
        db.session.commit()
        app.extensions["idp.store"].delete("session:" + row.token_hash)
        db.session.expunge(row)
        return row


def test_activity_within_a_minute_does_not_write_to_the_session(http, make_user, app):
    make_user("ada@example.com")
    client = _signed_in(http)
    before = _session_of(app, client)

    assert client.get("/account").status_code == 200
    assert client.get("/account").status_code == 200

    after = _session_of(app, client)
    assert after is not None and before is not None
    assert (after.last_seen_at, after.expires_at) == (before.last_seen_at, before.expires_at)


@pytest.mark.settings(IDP_SESSION_TTL="3600")
def test_activity_after_a_minute_slides_the_expiry(http, make_user, app):
    make_user("ada@example.com")
    client = _signed_in(http)
    aged = _age_session(app, _session_id(app, client), timedelta(minutes=2))
    started = utcnow()

    response = client.get("/account")

    assert response.status_code == 200
    assert "idp_session" not in set_cookies(response)  # still a browser-session cookie
    row = _session_of(app, client)
    assert row is not None
    assert row.last_seen_at >= started
    assert row.expires_at > aged.expires_at
    assert row.expires_at == row.last_seen_at + timedelta(seconds=3600)


@pytest.mark.settings(IDP_REMEMBER_TTL="86400")
def test_sliding_a_remembered_session_renews_its_cookie(http, make_user, app):
    make_user("ada@example.com")
    client = Browser(http)
    client.sign_in("ada@example.com", remember="y")
    aged = _age_session(app, _session_id(app, client), timedelta(minutes=2))

    response = client.get("/account")

    assert response.status_code == 200
    cookie = set_cookies(response)["idp_session"]
    assert cookie.value == client.cookie()
    assert cookie.get("Max-Age") == "86400"
    assert cookie.has("HttpOnly")
    row = _session_of(app, client)
    assert row is not None
    assert row.expires_at > aged.expires_at


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\t/evil.example"])
def test_confirm_returns_only_to_a_safe_next_path(http, make_user, target):
    make_user("ada@example.com")
    client = _signed_in(http)

    response = client.submit("/confirm", password=PASSWORD, next=target)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
