"""Members of an organization: add, remove, change role, leave.

Rules beyond the role's permissions: only an owner may make someone an owner or change or
remove an owner; the last owner can neither leave nor be demoted nor removed (an organization
always has someone who can delete it). Removing a member also removes them from its teams
and ends the organization being active on their sessions.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import InvalidInput
from idp.identity.actors import Actor
from idp.identity.models import LoginSession, User
from idp.identity.organization_models import (
    ActiveOrganization,
    Membership,
    Organization,
    Team,
    TeamMember,
)
from idp.identity.permissions import (
    OWNER,
    Acting,
    NotAllowed,
    Operator,
    require,
    require_role_within,
    role_exists,
)

LAST_OWNER = "An organization needs an owner: make someone else an owner first."


class AlreadyMember(InvalidInput):
    code = "already_member"


def add(actor: Actor, membership: Acting | None, user: User, role: str) -> Membership:
    """Add an existing person directly (the management API's way; pages invite)."""
    member = require(membership, "member", "create")
    _check_role(member, role)
    if find(member.organization_id, user.id) is not None:
        raise AlreadyMember(f"{user.email} is already a member.", field="email")
    row = join(user, member.organization_id, role)
    record(
        Event.MEMBER_ADDED,
        user_id=actor.id,
        subject=user.email,
        organization=member.organization_id,
        role=role,
    )
    db.session.commit()
    return row


def join(user: User, organization_id: int, role: str) -> Membership:
    """Insert the membership (the caller checked and commits)."""
    row = Membership(organization_id=organization_id, user_id=user.id, role=role)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # added by a request running at the same time
        db.session.rollback()
        raise AlreadyMember(f"{user.email} is already a member.", field="email") from None
    return row


def change_role(actor: Actor, membership: Acting | None, member_id: int, role: str) -> None:
    member = require(_locked(membership), "member", "update")
    target = _target(member, member_id)
    _check_role(member, role)
    if OWNER in (role, target.role) and member.role != OWNER:
        raise NotAllowed("Only an owner can make someone an owner or change an owner's role.")
    if target.role != OWNER:  # nor take a role from someone who holds more than you
        require_role_within(member, target.role)
    if target.role == OWNER and role != OWNER and _owners(member.organization_id) <= 1:
        raise InvalidInput(LAST_OWNER, field="role")
    previous, target.role = target.role, role
    record(
        Event.MEMBER_ROLE_CHANGED,
        user_id=actor.id,
        subject=target.user.email,
        organization=member.organization_id,
        role=role,
        previous=previous,
    )
    db.session.commit()


def remove(actor: Actor, membership: Acting | None, member_id: int) -> None:
    member = require(_locked(membership), "member", "delete")
    target = _target(member, member_id)
    if target.role == OWNER and member.role != OWNER:
        raise NotAllowed("Only an owner can remove an owner.")
    if target.role != OWNER:
        require_role_within(member, target.role)
    if target.role == OWNER and _owners(member.organization_id) <= 1:
        raise InvalidInput(LAST_OWNER)
    record(
        Event.MEMBER_REMOVED,
        user_id=actor.id,
        subject=target.user.email,
        organization=member.organization_id,
    )
    _drop(target)
    db.session.commit()


def leave(actor: User, membership: Membership | None) -> None:
    member = _locked(membership)
    if not isinstance(member, Membership):
        raise NotAllowed("You are not a member of this organization.")
    if member.role == OWNER and _owners(member.organization_id) <= 1:
        raise InvalidInput(LAST_OWNER)
    record(
        Event.MEMBER_LEFT,
        user_id=actor.id,
        subject=actor.email,
        organization=member.organization_id,
    )
    _drop(member)
    db.session.commit()


def members_of(organization_id: int) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership)
            .join(User)
            .where(Membership.organization_id == organization_id)
            .order_by(User.email)
        )
    )


def _drop(target: Membership) -> None:
    teams = select(Team.id).where(Team.organization_id == target.organization_id)
    db.session.execute(
        delete(TeamMember).where(
            TeamMember.team_id.in_(teams), TeamMember.user_id == target.user_id
        )
    )
    sessions = select(LoginSession.id).where(LoginSession.user_id == target.user_id)
    db.session.execute(
        delete(ActiveOrganization).where(
            ActiveOrganization.organization_id == target.organization_id,
            ActiveOrganization.session_id.in_(sessions),
        )
    )
    db.session.delete(target)


def _target(member: Acting, member_id: int) -> Membership:
    target = db.session.get(Membership, member_id, populate_existing=True)
    if target is None or target.organization_id != member.organization_id:
        raise InvalidInput("There is no such member in this organization.")
    return target


def _check_role(member: Acting, role: str) -> None:
    if not role_exists(member.organization_id, role):
        raise InvalidInput(f"There is no role named “{role}” here.", field="role")
    if role == OWNER and member.role != OWNER:
        raise NotAllowed("Only an owner can make someone an owner.")
    require_role_within(member, role)


def _locked(member: Acting | None) -> Acting | None:
    """Take the organization's write lock, then read `member` again (None if it is gone):
    changes that could take away an owner run one at a time per organization, each seeing
    the one before. Two owners demoting each other at once would otherwise both count two
    owners and leave none. The lock is a no-op update of the organization's row: a row lock
    on PostgreSQL, the database's write lock on SQLite; both last until commit or rollback."""
    if member is None:
        return None
    db.session.execute(
        update(Organization)
        .where(Organization.id == member.organization_id)
        .values(id=Organization.id)
        .execution_options(synchronize_session=False)
    )
    if isinstance(member, Operator):  # not a member: nothing to read again
        return member
    try:
        db.session.refresh(member)
    except InvalidRequestError:  # removed by a change that held the lock before this one
        return None
    return member


def _owners(organization_id: int) -> int:
    count = db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization_id, Membership.role == OWNER)
    )
    return int(count or 0)


def find(organization_id: int, user_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    )
