"""Organizations made directly through the services, for tests that start from one."""

from __future__ import annotations

from flask import Flask

from idp.db import db
from idp.identity import members, organizations
from idp.identity.models import User
from idp.identity.organization_models import Membership
from idp.identity.organizations import Fields


def link(secret: str) -> str:
    """The invitation page URL the services mail (the tests' issuer)."""
    return f"http://idp.test/invitations/{secret}"


def make_organization(app: Flask, owner_id: int, slug: str = "acme", name: str = "Acme") -> int:
    with app.app_context():
        owner = db.session.get(User, owner_id)
        assert owner is not None
        return organizations.create(owner, Fields(name=name, slug=slug)).id


def add_member(app: Flask, organization_id: int, user_id: int, role: str = "member") -> int:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        row = members.join(user, organization_id, role)
        db.session.commit()
        return row.id


def membership(user_id: int, organization_id: int) -> Membership | None:
    """Inside an app context: the person's membership."""
    user = db.session.get(User, user_id)
    assert user is not None
    return organizations.membership_of(user, organization_id)


def user(user_id: int) -> User:
    row = db.session.get(User, user_id)
    assert row is not None
    return row
