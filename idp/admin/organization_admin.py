"""What an admin does to organizations from the console: find them (by name or slug prefix,
with member counts, by pages), see one whole, add a person directly, change a member's role,
remove a member, cancel an invitation, change its settings, delete the organization.

The admin acts as an owner of the organization would: each change goes through the same
identity service a member's does (`members.add`, `members.change_role`, ...), handed the
`Operator` of idp.admin.organizations, so every rule (the last owner, the roles that exist,
the typed slug) is the one in `idp.identity`. Each event is audited with the admin as its actor
and `admin` in its detail; a refusal rolls back, so nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from idp.admin.organizations import operator
from idp.admin.people import MAX_PAGE, MAX_QUERY_LENGTH, escape_like
from idp.core.audit import acting_admin
from idp.db import db
from idp.errors import IdpError, InvalidInput
from idp.identity import invitations, members, organizations, permissions, teams, users
from idp.identity.models import User
from idp.identity.organization_models import (
    Invitation,
    Membership,
    Organization,
    OrganizationRole,
    Team,
    TeamMember,
)
from idp.identity.organizations import Fields

PAGE_SIZE = 50


@dataclass(frozen=True)
class Search:
    query: str = ""
    page: int = 1

    @classmethod
    def parse(cls, query: str, page: str) -> Search:
        """From the list's parameters; `InvalidInput` says what is wrong."""
        query = query.strip().lower()
        if len(query) > MAX_QUERY_LENGTH:
            raise InvalidInput(f"Search with at most {MAX_QUERY_LENGTH} characters.", field="q")
        if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
            raise InvalidInput(f"The page must be a number from 1 to {MAX_PAGE}.", field="page")
        return cls(query, int(page))


@dataclass(frozen=True)
class Listed:
    organization: Organization
    members: int


@dataclass(frozen=True)
class Page:
    rows: list[Listed]
    search: Search
    has_next: bool


@dataclass(frozen=True)
class Overview:
    """One organization as its admin page shows it."""

    organization: Organization
    members: list[Membership]
    invitations: list[Invitation]
    teams: list[tuple[Team, list[TeamMember]]]
    roles: list[str]
    custom_roles: list[OrganizationRole]


def find(search: Search) -> Page:
    """One page of organizations by name, each with its number of members."""
    count = func.count(Membership.id)
    statement = (
        select(Organization, count)
        .outerjoin(Membership, Membership.organization_id == Organization.id)
        .group_by(Organization.id)
        .order_by(func.lower(Organization.name), Organization.id)
    )
    if search.query:
        prefix = escape_like(search.query) + "%"
        statement = statement.where(
            or_(
                func.lower(Organization.name).like(prefix, escape="\\"),
                Organization.slug.like(prefix, escape="\\"),
            )
        )
    offset = (search.page - 1) * PAGE_SIZE
    found = db.session.execute(statement.offset(offset).limit(PAGE_SIZE + 1)).all()
    rows = [Listed(organization, int(n)) for organization, n in found]
    return Page(rows[:PAGE_SIZE], search, len(rows) > PAGE_SIZE)


def overview(organization: Organization, admin: User) -> Overview:
    seat = operator(organization)
    return Overview(
        organization=organization,
        members=members.members_of(organization.id),
        invitations=invitations.of_organization(seat),
        teams=[(t, teams.team_members(t.id)) for t in teams.teams_of(organization.id)],
        roles=permissions.roles_of(organization),
        custom_roles=permissions.custom_roles(organization.id),
    )


def update(
    organization: Organization, fields: Fields, require_two_factor: bool, *, admin: User
) -> None:
    """Rename, change the slug, the logo or the two-factor policy, as its owner would."""
    with _acting(admin):
        organizations.update(
            admin, operator(organization), fields, require_two_factor=require_two_factor
        )


def add_member(organization: Organization, email: str, role: str, *, admin: User) -> Membership:
    """Add a person who has an account, by their address (no invitation)."""
    with _acting(admin):
        user = users.find_by_email(users.normalise_email(email))
        if user is None:
            address = email.strip()
            raise InvalidInput(f"There is no account with the address {address}.", field="email")
        return members.add(admin, operator(organization), user, role)


def change_role(organization: Organization, member_id: int, role: str, *, admin: User) -> None:
    with _acting(admin):
        members.change_role(admin, operator(organization), member_id, role)


def remove_member(organization: Organization, member_id: int, *, admin: User) -> None:
    with _acting(admin):
        members.remove(admin, operator(organization), member_id)


def cancel_invitation(organization: Organization, invitation_id: int, *, admin: User) -> None:
    with _acting(admin):
        invitations.cancel(admin, operator(organization), invitation_id)


def delete(organization: Organization, confirm_slug: str, *, admin: User) -> None:
    """Delete the organization; the admin types its slug to confirm, as its owner would."""
    with _acting(admin):
        organizations.delete_organization(admin, operator(organization), confirm_slug)


@contextmanager
def _acting(admin: User) -> Iterator[None]:
    """Audit with the admin; on a refusal, roll back whatever the service had begun."""
    with acting_admin(admin.email):
        try:
            yield
        except IdpError:
            db.session.rollback()
            raise
