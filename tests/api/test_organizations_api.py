"""The management API's organizations, members and invitations, as an administrator acting
from outside them: each operation, and each refusal (404, 409, 422, the last owner), which
says why and stores nothing; the permissions admin:organizations:read and :write."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.identity.organization_models import Invitation
from tests.api.conftest import make_key
from tests.api.test_authentication import admin_client, cc_token
from tests.conftest import link_in


@pytest.fixture
def ada(make_user) -> int:
    return make_user("ada@example.com", name="Ada")


@pytest.fixture
def acme(api, ada) -> int:
    """Acme, owned by Ada, made through the API."""
    created = api("POST", "/organizations", json={"name": "Acme", "slug": "acme", "owner_id": ada})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def refused(api, snapshot, method, path, status, detail, **kwargs) -> None:
    before = snapshot()

    response = api(method, path, **kwargs)

    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == detail
    assert snapshot() == before


def test_an_organization_is_created_found_changed_and_deleted(app, api, acme, ada):
    path = f"/organizations/{acme}"

    got = api("GET", path).json()
    changed = api("PATCH", path, json={"name": "Acme Inc", "require_two_factor": True})
    listed = api("GET", "/organizations?q=acm").json()["organizations"]
    by_name = api("GET", "/organizations?q=ACME%20i").json()["organizations"]

    assert got["member_count"] == 1 and got["slug"] == "acme" and got["logo_url"] is None
    assert changed.status_code == 200
    assert changed.json()["name"] == "Acme Inc" and changed.json()["require_two_factor"]
    assert [o["id"] for o in listed] == [acme] == [o["id"] for o in by_name]
    owners = api("GET", f"{path}/members").json()["members"]
    assert [(m["user_id"], m["role"]) for m in owners] == [(ada, "owner")]
    assert api("DELETE", path).status_code == 204
    assert api("GET", path).status_code == 404
    with app.app_context():
        events = [row.event for row in db.session.query(AuditEvent).order_by(AuditEvent.id)]
        admin_rows = db.session.query(AuditEvent).filter_by(event="organization_created").one()
    assert events[-1] == "organization_deleted"
    assert admin_rows.detail["owner"] == "ada@example.com"  # made by the key's admin


def test_organizations_are_listed_in_pages(api, ada):
    for slug in ("a1", "a2", "a3"):
        api("POST", "/organizations", json={"name": slug, "slug": slug, "owner_id": ada})

    first = api("GET", "/organizations?limit=2").json()["organizations"]
    rest = api("GET", f"/organizations?limit=2&after={first[-1]['id']}").json()["organizations"]

    assert [o["slug"] for o in first + rest] == ["a1", "a2", "a3"]


def test_a_taken_slug_is_a_conflict(api, snapshot, acme, ada):
    body = {"name": "Other", "slug": "acme", "owner_id": ada}
    detail = "The slug “acme” is taken. Choose another."
    refused(api, snapshot, "POST", "/organizations", 409, detail, json=body)

    api("POST", "/organizations", json={**body, "slug": "other"})
    other = api("GET", "/organizations?q=other").json()["organizations"][0]["id"]
    refused(api, snapshot, "PATCH", f"/organizations/{other}", 409, detail, json={"slug": "acme"})
    refused(
        api,
        snapshot,
        "PATCH",
        f"/organizations/{other}",
        422,
        "The logo URL must be an https:// address.",
        json={"logo_url": "ftp://x.example/a.png"},
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"slug": "Bad Slug!"},
            "A slug is 1 to 48 lowercase letters, digits and hyphens, "
            "not starting or ending with a hyphen.",
        ),
        ({"logo_url": "http://x.example/logo.png"}, "The logo URL must be an https:// address."),
        ({"name": "   "}, "Give a name of 1 to 200 characters."),
        ({"owner_id": 999999}, "No person has the id 999999."),
        ({"extra": 1}, "The body does not match the schema."),
    ],
)
def test_a_bad_organization_says_why_and_stores_nothing(api, snapshot, ada, body, detail):
    good = {"name": "Acme", "slug": "acme", "owner_id": ada}
    refused(api, snapshot, "POST", "/organizations", 422, detail, json={**good, **body})


def test_an_unknown_organization_is_not_found(api, snapshot):
    detail = "No organization has the id 999999."
    for method, path, kwargs in [
        ("GET", "", {}),
        ("PATCH", "", {"json": {"name": "x"}}),
        ("DELETE", "", {}),
        ("GET", "/members", {}),
        ("POST", "/members", {"json": {"user_id": 1, "role": "member"}}),
        ("GET", "/invitations", {}),
    ]:
        refused(api, snapshot, method, f"/organizations/999999{path}", 404, detail, **kwargs)


def test_members_are_added_changed_and_removed(api, acme, make_user):
    bob = make_user("bob@example.com", name="Bob")
    path = f"/organizations/{acme}/members"

    added = api("POST", path, json={"user_id": bob, "role": "member"})
    changed = api("PATCH", f"{path}/{bob}", json={"role": "admin"})

    assert added.status_code == 201
    assert added.json()["email"] == "bob@example.com" and added.json()["role"] == "member"
    assert changed.json()["role"] == "admin"
    assert api("GET", f"/organizations/{acme}").json()["member_count"] == 2
    assert api("DELETE", f"{path}/{bob}").status_code == 204
    assert [m["user_id"] for m in api("GET", path).json()["members"]] != [bob]


def test_member_refusals_say_why_and_store_nothing(api, snapshot, acme, ada, make_user):
    path = f"/organizations/{acme}/members"
    bob = make_user("bob@example.com", name="Bob")
    refused(
        api,
        snapshot,
        "POST",
        path,
        409,
        "ada@example.com is already a member.",
        json={"user_id": ada, "role": "member"},
    )
    refused(
        api,
        snapshot,
        "POST",
        path,
        422,
        "There is no role named “boss” here.",
        json={"user_id": bob, "role": "boss"},
    )
    refused(
        api,
        snapshot,
        "POST",
        path,
        422,
        "No person has the id 999999.",
        json={"user_id": 999999, "role": "member"},
    )
    refused(
        api,
        snapshot,
        "PATCH",
        f"{path}/{ada}",
        422,
        "There is no role named “boss” here.",
        json={"role": "boss"},
    )
    missing = f"No member of this organization has the user id {bob}."
    refused(api, snapshot, "PATCH", f"{path}/{bob}", 404, missing, json={"role": "admin"})
    refused(api, snapshot, "DELETE", f"{path}/{bob}", 404, missing)


def test_the_last_owner_can_be_neither_removed_nor_demoted(api, snapshot, acme, ada, make_user):
    path = f"/organizations/{acme}/members/{ada}"
    last = "An organization needs an owner: make someone else an owner first."

    refused(api, snapshot, "DELETE", path, 422, last)
    refused(api, snapshot, "PATCH", path, 422, last, json={"role": "member"})

    bob = make_user("bob@example.com", name="Bob")
    api("POST", f"/organizations/{acme}/members", json={"user_id": bob, "role": "owner"})
    assert api("PATCH", path, json={"role": "member"}).status_code == 200


def test_an_invitation_is_mailed_resent_and_cancelled(app, api, acme, mailbox):
    path = f"/organizations/{acme}/invitations"

    sent = api("POST", path, json={"email": "Carol@Example.com", "role": "admin"})

    assert sent.status_code == 201, sent.text
    invitation = sent.json()
    assert (invitation["email"], invitation["state"]) == ("carol@example.com", "pending")
    first = link_in(mailbox.wait_for("carol@example.com", "invited you to Acme"), "/invitations/")
    mailbox.clear()
    resent = api("POST", f"{path}/{invitation['id']}/resend")
    second = link_in(mailbox.wait_for("carol@example.com", "invited you to Acme"), "/invitations/")
    assert resent.status_code == 200 and first != second
    cancelled = api("POST", f"{path}/{invitation['id']}/cancel")
    assert cancelled.json()["state"] == "cancelled"
    assert [i["state"] for i in api("GET", path).json()["invitations"]] == ["cancelled"]
    with app.app_context():
        assert db.session.query(Invitation).count() == 1


def test_invitation_refusals_say_why_and_store_nothing(api, snapshot, acme, mailbox):
    path = f"/organizations/{acme}/invitations"
    refused(
        api,
        snapshot,
        "POST",
        path,
        409,
        "ada@example.com is already a member.",
        json={"email": "ada@example.com", "role": "member"},
    )
    refused(
        api,
        snapshot,
        "POST",
        path,
        422,
        "Enter a valid email address, like name@example.com.",
        json={"email": "not an address", "role": "member"},
    )
    refused(
        api,
        snapshot,
        "POST",
        path,
        422,
        "There is no role named “boss” here.",
        json={"email": "carol@example.com", "role": "boss"},
    )
    sent = api("POST", path, json={"email": "carol@example.com", "role": "member"}).json()
    refused(
        api,
        snapshot,
        "POST",
        path,
        409,
        "carol@example.com already has a pending invitation; resend it instead.",
        json={"email": "carol@example.com", "role": "member"},
    )
    missing = "No invitation of this organization has the id 999999."
    refused(api, snapshot, "POST", f"{path}/999999/resend", 404, missing)
    refused(api, snapshot, "POST", f"{path}/999999/cancel", 404, missing)
    api("POST", f"{path}/{sent['id']}/cancel")
    refused(
        api,
        snapshot,
        "POST",
        f"{path}/{sent['id']}/cancel",
        422,
        "This invitation was already cancelled.",
    )
    refused(
        api,
        snapshot,
        "POST",
        f"{path}/{sent['id']}/resend",
        422,
        "This invitation was cancelled; invite again instead.",
    )


def test_read_permission_cannot_write_and_other_nouns_cannot_read(app, api, snapshot, acme):
    reader = make_key(app, permissions=["admin:organizations:read"])
    other = make_key(app, permissions=["admin:people:read", "admin:people:write"])
    read = api("GET", f"/organizations/{acme}", key=reader)
    api("GET", "/people", key=other)  # each key's first use is written
    before = snapshot()

    write = api("PATCH", f"/organizations/{acme}", key=reader, json={"name": "x"})
    members = api("GET", f"/organizations/{acme}/members", key=other)

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["detail"] == "This needs the permission admin:organizations:write."
    assert members.status_code == 403
    assert members.json()["detail"] == "This needs the permission admin:organizations:read."
    assert snapshot() == before


def test_a_clients_token_changes_an_organization_in_the_clients_name(
    http, api, app, acme, make_client
):
    scopes = "admin:organizations:read admin:organizations:write"
    client = admin_client(make_client, scopes.split())
    token = cc_token(http, client, resource=http.base + "/api", scope=scopes)

    read = api("GET", f"/organizations/{acme}", key=token)
    write = api("PATCH", f"/organizations/{acme}", key=token, json={"name": "Acme Inc"})

    assert read.status_code == 200
    assert write.status_code == 200, write.text
    assert write.json()["name"] == "Acme Inc"
    with app.app_context():
        row = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "organization_updated")
        ).one()
        assert row.user_id is None  # no person made it
        assert row.detail["admin"] == f"client:{client.client_id}"
