"""Roles and permissions inside an organization: the one `has_permission` every check uses.

A role is a set of permission statements, resource -> actions (`{"member": ["create"]}`).
The built-in roles are `owner`, `admin` and `member`; an organization may add custom roles
(`OrganizationRole`), whose statements are checked against `STATEMENTS`, the known resources
and actions. Who may hand out the owner role is a rule of `members.py`, not a statement.

Nobody grants more than they hold (`require_within`): a custom role is created or changed,
and a role given (to a member, an invitee, or people an SSO connection signs in), only when
its statements are all the actor's own. Deleting the organization stays with its owners: no
custom role may hold it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import IdpError, InvalidInput
from idp.identity.actors import Actor
from idp.identity.organization_models import Membership, Organization, OrganizationRole

# Every resource and the actions on it; a statement may name only these.
STATEMENTS: dict[str, tuple[str, ...]] = {
    "organization": ("update", "delete"),
    "member": ("create", "update", "delete"),
    "invitation": ("create", "cancel"),
    "team": ("create", "update", "delete"),
    "role": ("create", "update", "delete"),
}
OWNER, ADMIN, MEMBER = "owner", "admin", "member"
BUILT_IN: dict[str, dict[str, tuple[str, ...]]] = {
    OWNER: dict(STATEMENTS),
    ADMIN: {
        "organization": ("update",),
        "member": ("create", "update", "delete"),
        "invitation": ("create", "cancel"),
        "team": ("create", "update", "delete"),
        "role": ("create", "update", "delete"),
    },
    MEMBER: {},
}
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
OWNERS_ONLY = ("organization", "delete")


class NotAllowed(IdpError):
    code = "forbidden"
    status = 403


class RoleTaken(InvalidInput):
    code = "role_taken"


@dataclass(frozen=True)
class Operator:
    """A site administrator acting on an organization from outside it (the console, the API):
    allowed what an owner is, without being a member. The rules that are not permissions
    (the last owner stays) apply to them as to anyone."""

    organization: Organization
    role: str = OWNER

    @property
    def organization_id(self) -> int:
        return self.organization.id


# Who acts inside an organization: one of its members, or an operator.
Acting = Membership | Operator


def has_permission(membership: Acting | None, resource: str, action: str) -> bool:
    """Whether the member's role allows `action` on `resource`; never for a non-member,
    always for an operator."""
    if membership is None:
        return False
    if isinstance(membership, Operator):
        return True
    return action in statements_of(membership.organization_id, membership.role).get(resource, ())


def require(membership: Acting | None, resource: str, action: str) -> Acting:
    """The membership if it allows `action` on `resource`; `NotAllowed` saying what it lacks."""
    if membership is None:
        raise NotAllowed("You are not a member of this organization.")
    if not has_permission(membership, resource, action):
        raise NotAllowed(
            f"Your role ({membership.role}) does not allow you to {action} {resource}s here."
        )
    return membership


def require_within(membership: Acting, statements: Mapping[str, Any], what: str) -> None:
    """`NotAllowed` when `statements` hold a permission the actor's role does not: nobody
    grants more than they hold (an operator holds everything)."""
    if isinstance(membership, Operator):
        return
    own = statements_of(membership.organization_id, membership.role)
    beyond = sorted(
        f"{resource}:{action}"
        for resource, actions in statements.items()
        for action in actions
        if action not in own.get(resource, ())
    )
    if beyond:
        raise NotAllowed(
            f"{what} would give permissions your role ({membership.role}) does not hold: "
            f"{', '.join(beyond)}."
        )


def require_role_within(membership: Acting, role: str) -> None:
    """`require_within` for the statements of an existing role."""
    statements = statements_of(membership.organization_id, role)
    require_within(membership, statements, f"The role “{role}”")


def statements_of(organization_id: int, role: str) -> dict[str, tuple[str, ...]]:
    """The statements of a built-in role or of the organization's custom role ({} if none)."""
    if role in BUILT_IN:
        return BUILT_IN[role]
    row = find_role(organization_id, role)
    return {k: tuple(v) for k, v in row.statements.items()} if row else {}


def permission_list(organization_id: int, role: str) -> list[str]:
    """The role's permissions as "resource:action" strings, sorted (the `org_permissions`
    claim)."""
    statements = statements_of(organization_id, role)
    return sorted(
        f"{resource}:{action}" for resource, acts in statements.items() for action in acts
    )


def role_exists(organization_id: int, role: str) -> bool:
    return role in BUILT_IN or find_role(organization_id, role) is not None


def roles_of(organization: Organization) -> list[str]:
    custom = db.session.scalars(
        select(OrganizationRole.name)
        .where(OrganizationRole.organization_id == organization.id)
        .order_by(OrganizationRole.name)
    )
    return [*BUILT_IN, *custom]


def custom_roles(organization_id: int) -> list[OrganizationRole]:
    """The organization's own roles, by name."""
    return list(
        db.session.scalars(
            select(OrganizationRole)
            .where(OrganizationRole.organization_id == organization_id)
            .order_by(OrganizationRole.name)
        )
    )


def find_role(organization_id: int, name: str) -> OrganizationRole | None:
    return db.session.scalar(
        select(OrganizationRole).where(
            OrganizationRole.organization_id == organization_id, OrganizationRole.name == name
        )
    )


def checked_statements(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    """Statements with only known resources and actions; `InvalidInput` naming the first
    unknown one."""
    clean: dict[str, list[str]] = {}
    for resource, actions in raw.items():
        if resource not in STATEMENTS:
            known = ", ".join(STATEMENTS)
            raise InvalidInput(
                f"Unknown resource “{resource}”. Known: {known}.", field="statements"
            )
        if not isinstance(actions, list | tuple) or not all(isinstance(a, str) for a in actions):
            raise InvalidInput(f"The actions on {resource} must be a list.", field="statements")
        for action in actions:
            if action not in STATEMENTS[resource]:
                known = ", ".join(STATEMENTS[resource])
                raise InvalidInput(
                    f"Unknown action “{action}” on {resource}. Known: {known}.",
                    field="statements",
                )
        if actions:
            clean[resource] = sorted(set(actions))
    if OWNERS_ONLY[1] in clean.get(OWNERS_ONLY[0], []):
        raise InvalidInput(
            "Only owners delete the organization: a custom role cannot hold organization:delete.",
            field="statements",
        )
    return clean


def create_role(
    actor: Actor, membership: Acting | None, name: str, statements: Mapping[str, Any]
) -> OrganizationRole:
    """A custom role of the actor's organization."""
    member = require(membership, "role", "create")
    name = name.strip().lower()
    if not ROLE_NAME.match(name):
        raise InvalidInput(
            "A role name is a lowercase letter, then up to 63 letters, digits, - or _.",
            field="name",
        )
    if role_exists(member.organization_id, name):
        raise RoleTaken(f"There is already a role named “{name}”.", field="name")
    clean = checked_statements(statements)
    require_within(member, clean, "This role")
    row = OrganizationRole(organization_id=member.organization_id, name=name, statements=clean)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # created by a request running at the same time
        db.session.rollback()
        raise RoleTaken(f"There is already a role named “{name}”.", field="name") from None
    record(
        Event.ORGANIZATION_ROLE_CREATED,
        user_id=actor.id,
        organization=member.organization_id,
        role=name,
        statements=row.statements,
    )
    db.session.commit()
    return row


def update_role(
    actor: Actor, membership: Acting | None, name: str, statements: Mapping[str, Any]
) -> OrganizationRole:
    member = require(membership, "role", "update")
    row = _custom_role(member.organization_id, name)
    clean = checked_statements(statements)
    require_within(member, clean, "This role")
    row.statements = clean
    record(
        Event.ORGANIZATION_ROLE_UPDATED,
        user_id=actor.id,
        organization=member.organization_id,
        role=name,
        statements=row.statements,
    )
    db.session.commit()
    return row


def delete_role(actor: Actor, membership: Acting | None, name: str) -> None:
    """Remove a custom role no member holds."""
    member = require(membership, "role", "delete")
    row = _custom_role(member.organization_id, name)
    holders = db.session.scalar(
        select(Membership.id).where(
            Membership.organization_id == member.organization_id, Membership.role == name
        )
    )
    if holders is not None:
        raise InvalidInput(f"Members still hold the role “{name}”; change their role first.")
    db.session.delete(row)
    record(
        Event.ORGANIZATION_ROLE_DELETED,
        user_id=actor.id,
        organization=member.organization_id,
        role=name,
    )
    db.session.commit()


def _custom_role(organization_id: int, name: str) -> OrganizationRole:
    """The custom role to change or delete; a built-in role is fixed."""
    if name in BUILT_IN:
        raise InvalidInput(f"The built-in role “{name}” cannot be changed or deleted.")
    row = find_role(organization_id, name)
    if row is None:
        raise InvalidInput(f"There is no custom role named “{name}”.", field="name")
    return row
