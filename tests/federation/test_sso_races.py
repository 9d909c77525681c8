"""Federated sign-ins that race, over sockets to a threaded live server, released together:
the first sign-in of one new person in two tabs leaves one account, one link and one
membership, both tabs signed in (as one after the other would be); one assertion posted twice
at once is used once (SAML profiles §4.1.4.5), the other refused as a replay."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from idp.db import db
from idp.federation.models import FederatedIdentity
from idp.federation.sso.models import SamlAssertionUse
from idp.identity.models import User
from idp.identity.organization_models import Membership
from tests.federation.saml_idp_peer import encoded
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.sso_fixtures import make_corp
from tests.helpers.browser import Browser


def count(app, model) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def together(posts: list[tuple[Browser, str, str]]) -> list[requests.Response]:
    """POST each (browser, url, xml) on its own thread, released together."""
    barrier = threading.Barrier(len(posts))

    def send(item: tuple[Browser, str, str]) -> requests.Response:
        browser, url, xml = item
        barrier.wait()
        return browser.http.post(url, data={"SAMLResponse": encoded(xml)}, allow_redirects=False)

    with ThreadPoolExecutor(len(posts)) as pool:
        return list(pool.map(send, posts))


def test_a_first_sign_in_in_two_tabs_makes_one_account(server, make_user, idp_keys):
    app = server.app
    corp = make_corp(app, make_user, idp_keys)
    users_before = count(app, User)
    tabs = [Browser(server), Browser(server)]
    acs = f"{server.url}/sso/saml/{corp.connection_id}/acs"
    posts = [(tab, acs, corp.response(corp.start(tab))) for tab in tabs]
    answers = together(posts)
    assert [a.status_code for a in answers] == [303, 303]
    assert count(app, User) == users_before + 1
    assert count(app, FederatedIdentity) == 1
    assert count(app, Membership) == 2  # the owner and the new member
    assert all(tab.cookie() for tab in tabs)


def test_one_assertion_posted_twice_at_once_is_used_once(server, make_user, idp_keys):
    app = server.app
    corp = make_corp(app, make_user, idp_keys, allow_idp_initiated=True)
    xml = corp.response(None)
    acs = f"{server.url}/sso/saml/{corp.connection_id}/acs"
    answers = together([(Browser(server), acs, xml), (Browser(server), acs, xml)])
    assert sorted(a.status_code for a in answers) == [303, 403]
    assert "This sign-in response was already used." in next(
        a.text for a in answers if a.status_code == 403
    )
    assert count(app, SamlAssertionUse) == 1
