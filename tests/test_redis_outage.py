"""Redis stops answering in the middle of a person's visit: a request either succeeds, or fails
before it stores anything, with a page that says to try again; never a 500 after a commit.

The README's "What Redis holds, and what happens without it": the store holds only what may
be lost; nothing stored in the database is lost or changed by an outage, and every page keeps
working. Each test runs a Redis of its own and stops it (by its process) mid-test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import func, select

from idp.db import db
from idp.oauth.models import AuthorizationCode
from tests.conftest import free_port
from tests.helpers.waiting import wait_until
from tests.oauth.conftest import authorize_url, pkce, query_of
from tests.oauth.issued import post_as, redeem
from tests.oauth.test_device_grant import DEVICE_GRANT, answer, poll


class PrivateRedis:
    """A redis-server for one test; `stop()` kills it, as a crash or a network cut would."""

    def __init__(self) -> None:
        port = free_port()
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self._answers, what="redis-server to start")

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=5)
        assert not self._answers()


@pytest.fixture
def outage(env: dict[str, str]) -> Iterator[PrivateRedis]:
    """Listed before `app`/`browser`: the app under test uses this Redis."""
    private = PrivateRedis()
    env["REDIS_URL"] = private.url
    yield private
    private.stop()


def codes(app) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(AuthorizationCode)) or 0)


def test_a_signed_in_authorization_during_an_outage_answers_with_a_code(
    outage, app, http, browser, make_user, make_client
):
    """A signed-in person needs nothing from Redis to get a code: they get it, and the code
    works (RFC 6749 §4.1.2); forgetting the answered request is the store's loss, not theirs."""
    make_user("ada@example.com")
    client = make_client(first_party=True)
    assert browser.sign_in("ada@example.com").status_code == 303
    outage.stop()
    verifier, challenge = pkce()

    response = browser.get(authorize_url(client, challenge))

    assert response.status_code == 302, response.text
    code = query_of(response.headers["Location"])["code"]
    assert codes(app) == 1
    redeemed = redeem(http, client, code, verifier)
    assert redeemed.status_code == 200, redeemed.text


def test_consent_during_an_outage_says_to_try_again_and_stores_nothing(
    outage, browser, make_user, make_client, snapshot
):
    """The request waiting for consent lived in Redis: without it, a 503 that says so, and no
    consent or code is stored."""
    make_user("ada@example.com")
    client = make_client()
    assert browser.sign_in("ada@example.com").status_code == 303
    consent_page = browser.get(authorize_url(client, pkce()[1])).headers["Location"]
    assert "/authorize/consent/" in consent_page
    assert browser.get(consent_page).status_code == 200
    csrf = browser.csrf(consent_page)
    outage.stop()
    before = snapshot()

    response = browser.http.post(
        browser.base + consent_page, data={"csrf_token": csrf, "decision": "allow"}
    )

    assert response.status_code == 503
    assert "Signing in to apps is briefly unavailable. Try again soon." in response.text
    assert snapshot() == before


def test_a_device_approved_during_an_outage_gets_its_tokens(
    outage, http, browser, make_user, make_client
):
    """The device flow keeps its state in the database (RFC 8628 §3.3-§3.5): an outage
    changes nothing for it, sign-out included."""
    make_user("ada@example.com")
    cli = make_client(public=True, redirect_uris=[], grant_types=[DEVICE_GRANT])
    outage.stop()
    started = post_as(http, cli, "/device_authorization", scope="openid").json()
    assert browser.sign_in("ada@example.com").status_code == 303

    answer(browser, started["user_code"])
    tokens = poll(http, cli, started["device_code"])
    signed_out = browser.submit("/account", action="/sign-out")

    assert tokens.status_code == 200, tokens.text
    assert signed_out.status_code == 303
    assert browser.get("/account").status_code == 302


def test_a_passkey_ceremony_that_cannot_start_stores_nothing(outage, browser, make_user, snapshot):
    """The ceremony's challenge lives in Redis: without it, a 503 that says so, and the
    person's first ceremony leaves no user handle behind either."""
    make_user("ada@example.com")
    assert browser.sign_in("ada@example.com").status_code == 303
    token = browser.csrf("/sign-in")
    outage.stop()
    before = snapshot()

    response = browser.http.post(
        browser.base + "/account/passkeys/options",
        json={"name": ""},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )

    assert response.status_code == 503
    assert response.json()["message"] == "Passkeys are unavailable just now. Please try again soon."
    assert snapshot() == before
