"""A sensitive action asks for a fresh sign-in (`/confirm`). An account created by an upstream
provider or an organization's SSO has no password: its confirm page offers to sign in again
with what is linked to it, and the provider is asked to check the person again (OpenID
Connect Core §3.1.2.1 `prompt=login`; SAML core §3.4.1 `ForceAuthn`). The sign-in that comes
back makes the session fresh, and the action goes on."""

from __future__ import annotations

import base64
import html
import re
import zlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from sqlalchemy import select

from idp.db import db
from idp.federation.upstream.models import UpstreamProvider
from idp.identity import users
from idp.identity.models import LoginSession
from idp.identity.users import find_by_email
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.upstream_peer import SLUG, Upstreamer, connect

AGAIN = re.compile(r'href="([^"]+)">Sign in again with ([^<]+)</a>')


def make_stale(app, email: str) -> None:  # type: ignore[no-untyped-def]
    """Move every sign-in of the person a day back: no longer fresh (IDP_SESSION_FRESH_AGE)."""
    with app.app_context():
        user = find_by_email(email)
        assert user is not None
        for row in db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)):
            row.authenticated_at -= timedelta(days=1)
            app.extensions["idp.store"].delete("session:" + row.token_hash)
        db.session.commit()


def ways_again(page: str) -> list[tuple[str, str]]:
    return [(name, html.unescape(url)) for url, name in AGAIN.findall(page)]


class CountingUpstreamer(Upstreamer):
    """Counts the times the peer asked for the password."""

    asked = 0

    def _sign_in_at_peer(self, page, email):  # type: ignore[no-untyped-def]
        self.asked += 1
        return super()._sign_in_at_peer(page, email)


@pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
def test_an_upstream_account_confirms_by_signing_in_there_again(server, peer):
    connect(server, peer, name="Peer")
    person = CountingUpstreamer(server, peer)
    assert person.sign_in().status_code == 303
    assert person.asked == 1
    make_stale(server.app, "ada@example.com")

    asked = person.get(server.url + "/account/delete")
    assert asked.status_code == 302
    confirm = person.get(server.url + asked.headers["Location"])

    assert confirm.status_code == 200
    assert 'name="password"' not in confirm.text  # it has no password to type
    ((name, url),) = ways_again(confirm.text)
    assert name == "Peer"
    assert urlsplit(url).path == f"/sign-in/with/{SLUG}"
    assert parse_qs(urlsplit(url).query) == {"prompt": ["login"], "next": ["/account/delete"]}

    to_peer = person.get(server.url + url)
    assert parse_qs(urlsplit(to_peer.headers["Location"]).query)["prompt"] == ["login"]
    back = person.sign_in(start=url)

    assert person.asked == 2  # the peer had a session, and still asked (prompt=login)
    assert back.status_code == 303 and back.headers["Location"] == "/account/delete"
    assert person.get(server.url + "/account/delete").status_code == 200


def test_an_sso_account_confirms_through_its_connection_with_force_authn(corp, app, browser):
    assert corp.post(browser, corp.response(corp.start(browser))).status_code == 303
    make_stale(app, "eve@corp.example")
    confirm = browser.get("/confirm?next=/account/delete")

    ((name, url),) = ways_again(confirm.text)
    assert name == "Corp IdP"
    assert parse_qs(urlsplit(url).query) == {"prompt": ["login"], "next": ["/account/delete"]}
    to_idp = browser.get(url)

    saml_request = parse_qs(urlsplit(to_idp.headers["Location"]).query)["SAMLRequest"][0]
    xml = zlib.decompress(base64.b64decode(saml_request), -15)
    assert etree.fromstring(xml).get("ForceAuthn") == "true"
    again = corp.post(browser, corp.response(corp.peer.request_id(saml_request)))
    assert again.status_code == 303 and again.headers["Location"] == "/account/delete"
    assert browser.get("/account/delete").status_code == 200


def test_a_plain_sign_in_does_not_force_authentication(corp, browser):
    started = browser.get(f"/sso/{corp.connection_id}/start")
    saml_request = parse_qs(urlsplit(started.headers["Location"]).query)["SAMLRequest"][0]
    xml = zlib.decompress(base64.b64decode(saml_request), -15)
    assert etree.fromstring(xml).get("ForceAuthn") is None


def test_a_password_account_keeps_its_password_form_and_gets_its_links_too(
    corp, app, make_user, browser
):
    """Eve set a password after her SSO sign-up: both ways are offered, the password first."""
    assert corp.post(browser, corp.response(corp.start(browser))).status_code == 303
    with app.app_context():
        eve = find_by_email("eve@corp.example")
        assert eve is not None
        users.set_password(eve, "another long passphrase 42")
    make_stale(app, "eve@corp.example")

    confirm = browser.get("/confirm?next=/account/delete")

    assert 'name="password"' in confirm.text
    assert [name for name, _ in ways_again(confirm.text)] == ["Corp IdP"]


@pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
def test_with_its_provider_disabled_the_page_says_to_set_a_password(server, peer):
    """The operator turned the provider off: nothing to sign in again with, and the page says
    how to get a way back (a password, by the reset link) instead of a form that cannot work."""
    connect(server, peer)
    person = Upstreamer(server, peer)
    assert person.sign_in().status_code == 303
    with server.app.app_context():
        db.session.scalars(select(UpstreamProvider)).one().enabled = False
        db.session.commit()
    make_stale(server.app, "ada@example.com")

    confirm = person.get(server.url + "/confirm?next=/account/delete")

    assert confirm.status_code == 200
    assert ways_again(confirm.text) == []
    assert 'name="password"' not in confirm.text
    assert "Your account has no password and no provider to sign in again with" in confirm.text
    assert 'href="/reset-password"' in confirm.text
