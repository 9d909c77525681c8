"""Redis holds the session cache and rate-limit counters; losing it loses nothing stored.

Redis may lose what it holds; the database is the truth.
"""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import select

from idp.core.security import digest
from idp.db import db
from idp.identity.models import LoginSession, User
from tests.conftest import PASSWORD, Browser, LiveServer
from tests.oauth.conftest import authorize_url, pkce
from tests.test_two_factor import with_two_factor


def test_sessions_are_cached_in_redis_and_forgotten_on_sign_out(env, browser, make_user):
    if not env["REDIS_URL"]:
        pytest.skip("needs REDIS_URL")
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    browser.get("/account")
    key = env["IDP_REDIS_PREFIX"] + "session:" + digest(browser.cookie())
    cache = redis.Redis.from_url(env["REDIS_URL"])
    assert cache.exists(key)

    browser.submit("/account", action="/sign-out")

    assert not cache.exists(key)


def test_a_session_revoked_elsewhere_ends_at_once_despite_the_cache(env, server, make_user):
    """Two processes: one revokes, the other must not serve the cached session."""
    if not env["REDIS_URL"]:
        pytest.skip("needs REDIS_URL: without it each process has its own cache")
    make_user("ada@example.com")
    other = LiveServer(dict(env))
    try:
        here, there = Browser(server.url), Browser(other.url)
        here.sign_in("ada@example.com")
        there.http.cookies.update(here.http.cookies)
        assert there.get("/account").status_code == 200  # now cached
        second = Browser(server.url)
        second.sign_in("ada@example.com")

        second.submit("/account", action="/account/sessions/revoke-others")

        assert there.get("/account").status_code == 302
    finally:
        other.stop()


@pytest.mark.settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_everything_works_while_redis_is_down(server, browser, snapshot):
    """Sign-up, sign-in, the account page, revocation: slower, but correct."""
    assert browser.sign_up("ada@example.com").status_code == 200
    assert browser.sign_in("ada@example.com").status_code == 303
    assert browser.get("/account").status_code == 200
    other = Browser(server.url)
    assert other.sign_in("ada@example.com", PASSWORD).status_code == 303

    browser.submit("/account", action="/account/sessions/revoke-others")

    assert other.get("/account").status_code == 302
    with server.app.app_context():
        assert db.session.scalars(select(User.email)).all() == ["ada@example.com"]
        assert len(db.session.scalars(select(LoginSession)).all()) == 1


@pytest.mark.settings(REDIS_URL="redis://127.0.0.1:1/0", IDP_SIGN_IN_IP_LIMIT="2 per minute")
def test_rate_limits_fall_back_to_process_memory_while_redis_is_down(browser, make_user):
    make_user("ada@example.com")
    for _ in range(2):
        assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400

    assert browser.sign_in("ada@example.com").status_code == 429


@pytest.mark.settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_an_app_sign_in_while_redis_is_down_says_to_try_again(browser, make_client, snapshot):
    """The pending authorization request cannot be kept: say so, store nothing."""
    client = make_client()
    before = snapshot()

    response = browser.get(authorize_url(client, pkce()[1]))

    assert response.status_code == 503
    assert "Signing in to apps is briefly unavailable. Try again soon." in response.text
    assert snapshot() == before


@pytest.mark.settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_a_second_factor_sign_in_while_redis_is_down_says_to_try_again(
    server, browser, make_user, snapshot
):
    """The sign-in waiting for its second factor lives in the store: without it, say so and
    open no session (never skip the second factor)."""
    with_two_factor(server.app, make_user("ada@example.com"))
    before = snapshot()

    response = browser.sign_in("ada@example.com")

    assert response.status_code == 503
    assert "Signing in with a second factor is briefly unavailable. Try again soon." in (
        response.text
    )
    assert browser.cookie() is None
    assert snapshot() == before
