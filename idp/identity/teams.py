"""Teams inside an organization: create, rename, remove, add and remove members, and the
active team of a session (a team of the session's active organization, or none).

Team changes need the `team` permissions of the acting member's role; a team's members must
be members of its organization.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import InvalidInput
from idp.identity import members, organizations
from idp.identity.actors import Actor
from idp.identity.models import User
from idp.identity.organization_models import ActiveOrganization, Membership, Team, TeamMember
from idp.identity.permissions import Acting, NotAllowed, require

MAX_NAME = 200


class TeamTaken(InvalidInput):
    code = "team_taken"


class AlreadyInTeam(InvalidInput):
    code = "already_in_team"


def create(actor: Actor, membership: Acting | None, name: str) -> Team:
    member = require(membership, "team", "create")
    team = Team(organization_id=member.organization_id, name=_name(member, name))
    db.session.add(team)
    _flush_unique(team.name)
    record(
        Event.TEAM_CREATED, user_id=actor.id, organization=member.organization_id, team=team.name
    )
    db.session.commit()
    return team


def rename(actor: Actor, membership: Acting | None, team_id: int, name: str) -> Team:
    member = require(membership, "team", "update")
    team = _team(member, team_id)
    previous, team.name = team.name, _name(member, name, keep=team.id)
    _flush_unique(team.name)
    record(
        Event.TEAM_RENAMED,
        user_id=actor.id,
        organization=member.organization_id,
        team=team.name,
        previous=previous,
    )
    db.session.commit()
    return team


def remove(actor: Actor, membership: Acting | None, team_id: int) -> None:
    member = require(membership, "team", "delete")
    team = _team(member, team_id)
    record(
        Event.TEAM_DELETED, user_id=actor.id, organization=member.organization_id, team=team.name
    )
    db.session.delete(team)
    db.session.commit()


def add_member(actor: Actor, membership: Acting | None, team_id: int, member_id: int) -> None:
    member = require(membership, "team", "update")
    _add(actor, member, _team(member, team_id), db.session.get(Membership, member_id))


def add_person(actor: Actor, membership: Acting | None, team_id: int, user_id: int) -> None:
    """Add a member to a team by their person's id (the management API's way)."""
    member = require(membership, "team", "update")
    team = _team(member, team_id)
    _add(actor, member, team, members.find(member.organization_id, user_id))


def _add(actor: Actor, member: Acting, team: Team, target: Membership | None) -> None:
    if target is None or target.organization_id != member.organization_id:
        raise InvalidInput("Only members of the organization can join its teams.")
    if _row(team.id, target.user_id) is not None:
        raise AlreadyInTeam(f"{target.user.email} is already in {team.name}.")
    db.session.add(TeamMember(team_id=team.id, user_id=target.user_id))
    try:
        db.session.flush()
    except IntegrityError:  # added by a request running at the same time
        db.session.rollback()
        raise AlreadyInTeam(f"{target.user.email} is already in {team.name}.") from None
    record(
        Event.TEAM_MEMBER_ADDED,
        user_id=actor.id,
        subject=target.user.email,
        organization=member.organization_id,
        team=team.name,
    )
    db.session.commit()


def remove_member(actor: Actor, membership: Acting | None, team_id: int, user_id: int) -> None:
    member = require(membership, "team", "update")
    team = _team(member, team_id)
    row = _row(team.id, user_id)
    if row is None:
        raise InvalidInput("That person is not in this team.")
    record(
        Event.TEAM_MEMBER_REMOVED,
        user_id=actor.id,
        subject=row.user.email,
        organization=member.organization_id,
        team=team.name,
    )
    db.session.delete(row)
    db.session.commit()


def teams_of(organization_id: int) -> list[Team]:
    return list(
        db.session.scalars(
            select(Team).where(Team.organization_id == organization_id).order_by(Team.name)
        )
    )


def team_members(team_id: int) -> list[TeamMember]:
    return list(db.session.scalars(select(TeamMember).where(TeamMember.team_id == team_id)))


def set_active_team(user: User, session_id: int, team_id: int | None) -> None:
    """Make a team of the session's active organization active (or none)."""
    active = organizations.active_of(user, session_id)
    if active is None:
        raise InvalidInput("Choose an organization before choosing a team.")
    if team_id is not None:
        team = db.session.get(Team, team_id)
        if team is None or team.organization_id != active.organization_id:
            raise NotAllowed("That team is not in your active organization.")
        if members.find(team.organization_id, user.id) is None:
            raise NotAllowed("You are not a member of this organization.")
    row = db.session.get(ActiveOrganization, session_id)
    assert row is not None
    row.team_id = team_id
    db.session.commit()


def _name(member: Acting, raw: str, keep: int | None = None) -> str:
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"Give a team name of 1 to {MAX_NAME} characters.", field="name")
    same = db.session.scalar(
        select(Team).where(Team.organization_id == member.organization_id, Team.name == name)
    )
    if same is not None and same.id != keep:
        raise TeamTaken(f"There is already a team named “{name}”.", field="name")
    return name


def _flush_unique(name: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise TeamTaken(f"There is already a team named “{name}”.", field="name") from None


def _team(member: Acting, team_id: int) -> Team:
    team = db.session.get(Team, team_id)
    if team is None or team.organization_id != member.organization_id:
        raise InvalidInput("There is no such team in this organization.")
    return team


def _row(team_id: int, user_id: int) -> TeamMember | None:
    return db.session.scalar(
        select(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
    )
