"""API keys on the account page (/account/api-keys): create (shown once, stored as a digest,
with a visible prefix), list, revoke. Only an administrator's key may hold management
permissions. Each refusal says why and stores nothing."""

from __future__ import annotations

import re

from sqlalchemy import select

from idp.api.models import ApiKey
from idp.core.security import digest
from idp.db import db
from idp.identity import users
from tests.conftest import PASSWORD, Browser
from tests.test_admin_resources import text_of

PAGE = "/account/api-keys"


def signed_in(http, make_user, *, admin: bool = False) -> Browser:
    if admin:
        with http.app.app_context():
            users.create_user("grace@example.com", "Grace", PASSWORD, is_admin=True)
        email = "grace@example.com"
    else:
        make_user()
        email = "ada@example.com"
    browser = Browser(http)
    assert browser.sign_in(email).status_code == 303
    return browser


def keys(app) -> list[ApiKey]:
    with app.app_context():
        return list(db.session.scalars(select(ApiKey)))


def test_a_person_creates_a_key_that_is_shown_once(app, http, make_user):
    browser = signed_in(http, make_user)

    response = browser.submit(PAGE, name="deploy script", expires="30", rate_limit="60")

    assert response.status_code == 200
    secret = re.search(r'id="api-key">([^<]+)<', text_of(response)).group(1)
    (key,) = keys(app)
    assert key.key_hash == digest(secret)
    assert secret.startswith(key.prefix + "_")
    assert key.permissions == []
    assert key.rate_limit == 60
    listing = text_of(browser.get(PAGE))
    assert "deploy script" in listing
    assert key.prefix in listing
    assert secret not in listing
    assert "Permissions" not in listing.split("Create a key")[1]  # not offered to non-admins


def test_an_admin_gives_a_key_permissions(app, http, make_user):
    browser = signed_in(http, make_user, admin=True)

    browser.submit(
        PAGE, name="ops", expires="", permissions=["admin:clients:read", "admin:keys:read"]
    )

    (key,) = keys(app)
    assert key.permissions == ["admin:clients:read", "admin:keys:read"]
    assert key.expires_at is None


def test_a_person_who_is_not_an_admin_cannot_ask_for_permissions(app, http, make_user, snapshot):
    browser = signed_in(http, make_user)
    before = snapshot()

    response = browser.submit(PAGE, name="sneaky", permissions="admin:people:write")

    assert response.status_code == 400
    assert "Only an administrator's key can hold management permissions." in text_of(response)
    assert snapshot() == before


def test_bad_fields_are_refused_and_nothing_is_stored(http, make_user, snapshot):
    browser = signed_in(http, make_user)
    before = snapshot()

    for fields, message in [
        ({"name": " "}, "An API key needs a name of 1 to 200 characters."),
        ({"name": "x", "expires": "0"}, "A key expires in 1 to 3650 days, or never."),
        ({"name": "x", "expires": "soon"}, "Type a whole number."),
        ({"name": "x", "rate_limit": "0"}, "The rate limit is 1 to 100000 requests a minute."),
    ]:
        response = browser.submit(PAGE, **fields)

        assert response.status_code == 400
        assert message in text_of(response)
    assert snapshot() == before


def test_a_person_revokes_their_key(app, http, make_user):
    browser = signed_in(http, make_user)
    browser.submit(PAGE, name="old")
    (key,) = keys(app)

    response = browser.submit(PAGE, action=f"{PAGE}/{key.id}/revoke")

    assert response.status_code == 303
    (key,) = keys(app)
    assert key.revoked_at is not None
    assert f"The key old ({key.prefix}…) was revoked." in text_of(browser.get(PAGE))


def test_nobody_revokes_another_persons_key(app, http, make_user, snapshot):
    owner = signed_in(http, make_user, admin=True)
    owner.submit(PAGE, name="mine")
    (key,) = keys(app)
    make_user("eve@example.com")
    eve = Browser(http)
    eve.sign_in("eve@example.com")
    before = snapshot()

    response = eve.submit(PAGE, action=f"{PAGE}/{key.id}/revoke")

    assert response.status_code == 404
    assert snapshot() == before
