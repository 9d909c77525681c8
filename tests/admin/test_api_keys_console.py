"""Every API key in the admin console (/admin/api-keys): owner, name, prefix, permissions,
expiry, last use, revocation; filtered by the owner's address; revoking one, audited with the
admin, after which the key gets 401 from the management API."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.identity import users
from tests.admin.conftest import ADMIN, text_of
from tests.api.conftest import Api, key_id, make_key

PAGE = "/admin/api-keys"
ADA = "ada@example.com"


def row_of(text: str, prefix: str) -> str:
    match = re.search(rf'<tr data-prefix="{prefix}">(.*?)</tr>', text, re.S)
    assert match, f"{prefix} is not listed"
    return html.unescape(match.group(1))


def prefix_of(secret: str) -> str:
    return secret[:12]


def test_every_key_is_listed_with_its_owner_and_facts(app, admin, make_user, http):
    make_user(ADA)
    grace_key = make_key(app, ADMIN, permissions=["admin:people:read"], expires_in_days=30)
    ada_key = make_key(app, ADA, permissions=[])
    assert Api(http, grace_key)("GET", "/people").status_code == 200

    text = text_of(admin.get(PAGE))

    grace_row = row_of(text, prefix_of(grace_key))
    assert ADMIN in grace_row and "<td>test</td>" in grace_row
    assert "<td>admin:people:read</td>" in grace_row
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>\s*<td>\d{4}-", grace_row)
    assert "Revoke" in grace_row
    ada_row = row_of(text, prefix_of(ada_key))
    assert ADA in ada_row and "<td>none</td>" in ada_row
    assert ada_row.count("never") == 2  # no expiry, never used


def test_the_list_filters_by_owner(app, admin, make_user):
    make_user(ADA)
    grace_key, ada_key = make_key(app, ADMIN), make_key(app, ADA, permissions=[])

    only_ada = admin.get(f"{PAGE}?owner=Ada@Example.com").text
    nobody = text_of(admin.get(f"{PAGE}?owner=zoe@example.com"))

    assert prefix_of(ada_key) in only_ada and prefix_of(grace_key) not in only_ada
    assert "There is no account with the address zoe@example.com." in nobody
    assert prefix_of(grace_key) not in nobody


def test_a_revoked_key_gets_401_from_the_api(app, admin, http):
    secret = make_key(app, ADMIN)
    api = Api(http, secret)
    assert api("GET", "/people").status_code == 200

    response = admin.submit(PAGE, action=f"{PAGE}/{key_id(app, secret)}/revoke")

    assert response.status_code == 303
    listing = text_of(admin.get(PAGE))
    assert f"The key test ({prefix_of(secret)}…) of {ADMIN} was revoked." in listing
    assert "revoked " in row_of(listing, prefix_of(secret))
    refused = api("GET", "/people")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The API key was revoked."
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "api_key_revoked")
        ).one()
        grace = users.find_by_email(ADMIN)
        assert grace is not None
        assert event.user_id == grace.id and event.detail["admin"] == ADMIN
        assert event.subject == prefix_of(secret)


def test_revoking_twice_changes_nothing(app, admin, snapshot):
    secret = make_key(app, ADMIN)
    revoke = f"{PAGE}/{key_id(app, secret)}/revoke"
    admin.submit(PAGE, action=revoke)
    before = snapshot(ignore=())

    response = admin.submit(PAGE, action=revoke)

    assert response.status_code == 303
    assert "was already revoked" in text_of(admin.get(PAGE))
    assert snapshot(ignore=()) == before


def test_an_unknown_key_is_404(admin):
    assert admin.submit(PAGE, action=f"{PAGE}/999/revoke").status_code == 404


def test_someone_who_is_not_an_admin_cannot_revoke(app, browser, make_user, snapshot):
    make_user(ADA)
    secret = make_key(app, ADA, permissions=[])
    assert browser.sign_in(ADA).status_code == 303
    before = snapshot()

    response = browser.submit("/account", action=f"{PAGE}/{key_id(app, secret)}/revoke")

    assert response.status_code == 403
    assert "Only administrators can open the admin pages." in text_of(response)
    assert snapshot() == before
