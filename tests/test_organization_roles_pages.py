"""Custom roles on an organization's page: the owner edits a custom role's permission
statements and deletes one (`permissions.update_role`, `permissions.delete_role`); the
built-in roles cannot be edited; a member whose role lacks `role:update` or `role:delete` is
refused. Each refusal shows its message and stores nothing."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.identity import permissions
from tests.conftest import Browser
from tests.helpers.organizations import add_member, make_organization, membership, user

PAGE = "/organizations/acme"


@pytest.fixture
def acme(app, make_user) -> dict[str, int]:
    """Acme, owned by Ada, with the custom role `billing` (update members) and Bob a member."""
    ada = make_user("ada@example.com")
    bob = make_user("bob@example.com", name="Bob")
    org = make_organization(app, ada)
    with app.app_context():
        permissions.create_role(user(ada), membership(ada, org), "billing", {"member": ["update"]})
    add_member(app, org, bob)
    return {"org": org, "ada": ada, "bob": bob}


def signed_in(http, email: str) -> Browser:
    browser = Browser(http)
    assert browser.sign_in(email).status_code == 303
    return browser


def statements(app, org: int, name: str) -> dict | None:
    with app.app_context():
        row = permissions.find_role(org, name)
        return dict(row.statements) if row else None


def checked(page_text: str, role: str) -> list[str]:
    """The permissions ticked in a custom role's form."""
    block = re.search(rf'data-role="{role}">(.*?)</div>', page_text, re.S)
    assert block, f"no form for {role}"
    return re.findall(r'value="([a-z]+:[a-z]+)" checked', block.group(1))


def refused(browser: Browser, snapshot, action: str, status: int, **fields) -> str:
    before = snapshot()
    response = browser.submit(PAGE, f"{PAGE}/{action}", **fields)
    assert response.status_code == status, response.text
    assert snapshot() == before
    match = re.search(r'<div class="alert alert--error" role="alert"><p>(.*?)</p>', response.text)
    assert match, "no message on the page"
    return html.unescape(match.group(1))


def test_the_owner_edits_a_custom_roles_permissions(app, http, acme):
    ada = signed_in(http, "ada@example.com")
    assert checked(ada.get(PAGE).text, "billing") == ["member:update"]

    response = ada.submit(
        PAGE,
        f"{PAGE}/edit-role",
        name="billing",
        permission=["member:update", "invitation:create", "team:update"],
    )

    assert response.status_code == 303
    page = ada.get(PAGE).text
    assert "The role billing was saved." in page
    assert checked(page, "billing") == ["member:update", "invitation:create", "team:update"]
    assert statements(app, acme["org"], "billing") == {
        "invitation": ["create"],
        "member": ["update"],
        "team": ["update"],
    }
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "organization_role_updated")
        ).one()
        assert event.user_id == acme["ada"] and event.detail["role"] == "billing"


def test_taking_every_permission_away_leaves_an_empty_role(app, http, acme):
    ada = signed_in(http, "ada@example.com")

    response = ada.submit(PAGE, f"{PAGE}/edit-role", name="billing")

    assert response.status_code == 303
    assert statements(app, acme["org"], "billing") == {}


def test_the_owner_deletes_a_custom_role(app, http, acme):
    ada = signed_in(http, "ada@example.com")

    response = ada.submit(PAGE, f"{PAGE}/delete-role", name="billing")

    assert response.status_code == 303
    assert "The role was deleted." in ada.get(PAGE).text
    assert statements(app, acme["org"], "billing") is None
    assert 'data-role="billing"' not in ada.get(PAGE).text


def test_a_role_someone_holds_cannot_be_deleted(app, http, acme, snapshot):
    ada = signed_in(http, "ada@example.com")
    with app.app_context():
        bob_member = membership(acme["bob"], acme["org"])
        assert bob_member is not None
        bob_member.role = "billing"
        db.session.commit()

    message = refused(ada, snapshot, "delete-role", 400, name="billing")

    assert message == "Members still hold the role “billing”; change their role first."


@pytest.mark.parametrize("name", ["owner", "admin", "member"])
def test_a_built_in_role_cannot_be_edited(http, acme, snapshot, name):
    ada = signed_in(http, "ada@example.com")
    assert f'data-role="{name}"' not in ada.get(PAGE).text

    message = refused(ada, snapshot, "edit-role", 400, name=name, permission="member:create")

    assert message == f"The built-in role “{name}” cannot be changed or deleted."


def test_an_unknown_permission_is_refused(http, acme, snapshot):
    ada = signed_in(http, "ada@example.com")

    message = refused(ada, snapshot, "edit-role", 400, name="billing", permission="member:fly")

    assert message == "Unknown action “fly” on member. Known: create, update, delete."


def test_a_member_without_role_update_is_refused(http, acme, snapshot):
    bob = signed_in(http, "bob@example.com")
    page = bob.get(PAGE).text
    assert "edit-role" not in page and "delete-role" not in page

    edited = refused(
        bob, snapshot, "edit-role", 403, name="billing", permission="organization:delete"
    )
    deleted = refused(bob, snapshot, "delete-role", 403, name="billing")

    assert edited == "Your role (member) does not allow you to update roles here."
    assert deleted == "Your role (member) does not allow you to delete roles here."


def test_a_custom_role_with_role_update_edits_but_cannot_delete(app, http, acme, snapshot):
    with app.app_context():
        ada = user(acme["ada"])
        own = membership(acme["ada"], acme["org"])
        permissions.create_role(ada, own, "roles", {"role": ["update"]})
        bob_member = membership(acme["bob"], acme["org"])
        assert bob_member is not None
        bob_member.role = "roles"
        db.session.commit()
    bob = signed_in(http, "bob@example.com")
    page = bob.get(PAGE).text
    assert checked(page, "billing") == ["member:update"] and "delete-role" not in page

    assert bob.submit(PAGE, f"{PAGE}/edit-role", name="billing").status_code == 303
    deleted = refused(bob, snapshot, "delete-role", 403, name="billing")

    assert statements(app, acme["org"], "billing") == {}
    assert deleted == "Your role (roles) does not allow you to delete roles here."
