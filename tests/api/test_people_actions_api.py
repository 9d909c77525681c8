"""What an administrator does to a person through the management API, as the console's
person page does: ban (ending their sessions at once), unban, the admin role (never their own),
end sessions, a password reset mail; each refusal says why and stores nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.identity.bans import Ban
from tests.api.conftest import make_key
from tests.api.test_authentication import admin_client, cc_token
from tests.api.test_organizations_api import refused
from tests.conftest import link_in


@pytest.fixture
def ada(make_user) -> int:
    return make_user("ada@example.com", name="Ada")


def test_a_ban_ends_the_sessions_and_shows_on_the_person(app, api, browser, ada):
    assert browser.sign_in("ada@example.com").status_code == 303

    banned = api(
        "POST",
        f"/people/{ada}/ban",
        json={"reason": "Phishing  members", "expires_at": "2999-01-31T18:00:00Z"},
    )

    assert banned.status_code == 200, banned.text
    assert banned.json()["ban"]["reason"] == "Phishing members"
    assert banned.json()["ban"]["expires_at"].startswith("2999-01-31T18:00:00")
    assert browser.get("/account").status_code == 302  # signed out
    listed = api("GET", "/people?email=ada").json()["people"]
    assert listed[0]["ban"]["reason"] == "Phishing members"
    unbanned = api("POST", f"/people/{ada}/unban")
    assert unbanned.json()["ban"] is None
    with app.app_context():
        assert db.session.get(Ban, ada) is None


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"reason": "   "}, "Say why, for the audit log."),
        (
            {"reason": "x", "expires_at": "2001-01-01T00:00:00Z"},
            "The end of the ban must be in the future.",
        ),
        (
            {"reason": "x", "expires_at": "soon"},
            "Give the end as a date and time, such as 2027-01-31T18:00:00Z.",
        ),
        ({"reason": ""}, "The body does not match the schema."),
    ],
)
def test_a_bad_ban_says_why_and_stores_nothing(api, snapshot, ada, body, detail):
    refused(api, snapshot, "POST", f"/people/{ada}/ban", 422, detail, json=body)


def test_nobody_bans_themselves_or_takes_their_own_admin_role(api, snapshot):
    me = api("GET", "/people?email=grace").json()["people"][0]["id"]

    refused(
        api,
        snapshot,
        "POST",
        f"/people/{me}/ban",
        422,
        "You cannot ban yourself.",
        json={"reason": "x"},
    )
    refused(
        api,
        snapshot,
        "PUT",
        f"/people/{me}/admin",
        422,
        "You cannot remove your own admin role.",
        json={"is_admin": False},
    )


def test_the_admin_role_is_given_and_taken(api, ada):
    given = api("PUT", f"/people/{ada}/admin", json={"is_admin": True})
    taken = api("PUT", f"/people/{ada}/admin", json={"is_admin": False})

    assert given.json()["is_admin"] is True
    assert taken.json()["is_admin"] is False


def test_sessions_are_ended(api, browser, ada):
    browser.sign_in("ada@example.com")

    ended = api("POST", f"/people/{ada}/sessions/revoke")

    assert ended.json() == {"revoked": 1}
    assert browser.get("/account").status_code == 302


def test_a_password_reset_link_is_mailed(api, ada, mailbox):
    sent = api("POST", f"/people/{ada}/password-reset")

    assert sent.status_code == 204
    message = mailbox.wait_for("ada@example.com", "Reset your password")
    assert link_in(message, "/reset-password/")


def test_an_unknown_person_is_not_found(api, snapshot):
    for method, action, kwargs in [
        ("POST", "ban", {"json": {"reason": "x"}}),
        ("POST", "unban", {}),
        ("PUT", "admin", {"json": {"is_admin": True}}),
        ("POST", "sessions/revoke", {}),
        ("POST", "password-reset", {}),
    ]:
        refused(
            api,
            snapshot,
            method,
            f"/people/999999/{action}",
            404,
            "No person has the id 999999.",
            **kwargs,
        )


def test_a_read_key_cannot_act_on_people(app, api, snapshot, ada):
    reader = make_key(app, permissions=["admin:people:read"])
    api("GET", "/people", key=reader)
    before = snapshot()

    response = api("POST", f"/people/{ada}/unban", key=reader)

    assert response.status_code == 403
    assert response.json()["detail"] == "This needs the permission admin:people:write."
    assert snapshot() == before


def test_a_provisioning_client_bans_in_its_own_name(app, http, api, browser, ada, make_client):
    scopes = "admin:people:read admin:people:write"
    client = admin_client(make_client, scopes.split())
    token = cc_token(http, client, resource=http.base + "/api", scope=scopes)
    assert browser.sign_in("ada@example.com").status_code == 303

    banned = api("POST", f"/people/{ada}/ban", key=token, json={"reason": "Left the company"})

    assert banned.status_code == 200, banned.text
    assert browser.get("/account").status_code == 302  # signed out at once
    with app.app_context():
        ban = db.session.get(Ban, ada)
        assert ban is not None and ban.banned_by_id is None
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "user_banned")).one()
        assert row.detail["admin"] == f"client:{client.client_id}"
