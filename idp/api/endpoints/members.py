"""Management API: an organization's members and invitations (idp.identity.members and
idp.identity.invitations do the work, with the administrator as an operator). A member is
named in the path by their person's id. An invitation mails the same link as the
organization's page, to /invitations/<secret>."""

from __future__ import annotations

from typing import Any

from flask import url_for

from idp.admin.organizations import operator
from idp.api.endpoints.organizations import ID, READ, WRITE, found
from idp.api.problems import ApiProblem
from idp.api.registry import INTEGER, Call, Reply, acting_admin, api
from idp.api.schemas import MAYBE_TIME, TIME, answer, closed, listing
from idp.db import db
from idp.identity import invitations, members
from idp.identity.models import User
from idp.identity.organization_models import Invitation, Membership

ROLE = {"type": "string", "minLength": 1, "maxLength": 64}
MEMBER_ID = {**ID, "user_id": INTEGER}
INVITATION_ID = {**ID, "invitation_id": INTEGER}

MEMBER = answer(
    {
        "user_id": {"type": "integer"},
        "email": {"type": "string"},
        "name": {"type": "string"},
        "role": {"type": "string"},
        "joined_at": TIME,
    }
)
INVITATION = answer(
    {
        "id": {"type": "integer"},
        "email": {"type": "string"},
        "role": {"type": "string"},
        "state": {"enum": ["pending", "accepted", "rejected", "cancelled", "expired"]},
        "invited_by": {"type": ["integer", "null"]},
        "created_at": TIME,
        "expires_at": TIME,
        "answered_at": MAYBE_TIME,
    }
)


def member_json(row: Membership) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "email": row.user.email,
        "name": row.user.name,
        "role": row.role,
        "joined_at": row.created_at.isoformat(),
    }


def invitation_json(row: Invitation) -> dict[str, Any]:
    return {
        "id": row.id,
        "email": row.email,
        "role": row.role,
        "state": invitations.state(row),
        "invited_by": row.invited_by,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "answered_at": row.answered_at.isoformat() if row.answered_at else None,
    }


def found_member(call: Call) -> Membership:
    """The member of the path's organization, or 404."""
    row = members.find(found(call).id, call.params["user_id"])
    if row is None:
        raise ApiProblem(
            404, f"No member of this organization has the user id {call.params['user_id']}."
        )
    return row


def _invitation(call: Call) -> Invitation:
    row = db.session.get(Invitation, call.params["invitation_id"])
    if row is None or row.organization_id != found(call).id:
        raise ApiProblem(
            404, f"No invitation of this organization has the id {call.params['invitation_id']}."
        )
    return row


def _link(secret: str) -> str:
    return url_for("invitations.show", secret=secret, _external=True)


@api.endpoint(
    "GET",
    "/organizations/{organization_id}/members",
    permission=READ,
    summary="List an organization's members",
    path_params=ID,
    answer=listing("members", MEMBER),
)
def list_members(call: Call) -> Any:
    return {"members": [member_json(row) for row in members.members_of(found(call).id)]}


@api.endpoint(
    "POST",
    "/organizations/{organization_id}/members",
    permission=WRITE,
    status=201,
    summary="Add a person to an organization with a role",
    path_params=ID,
    body=closed({"user_id": INTEGER, "role": ROLE}, required=("user_id", "role")),
    answer=MEMBER,
)
def add_member(call: Call) -> Any:
    organization = found(call)
    user = db.session.get(User, call.body["user_id"])
    if user is None:
        raise ApiProblem(
            422,
            f"No person has the id {call.body['user_id']}.",
            errors=[{"pointer": "/user_id", "detail": "No such person."}],
        )
    row = members.add(acting_admin(call), operator(organization), user, call.body["role"])
    return member_json(row)


@api.endpoint(
    "PATCH",
    "/organizations/{organization_id}/members/{user_id}",
    permission=WRITE,
    summary="Change a member's role (the last owner stays an owner)",
    path_params=MEMBER_ID,
    body=closed({"role": ROLE}, required=("role",)),
    answer=MEMBER,
)
def change_member_role(call: Call) -> Any:
    row = found_member(call)
    members.change_role(acting_admin(call), operator(found(call)), row.id, call.body["role"])
    return member_json(row)


@api.endpoint(
    "DELETE",
    "/organizations/{organization_id}/members/{user_id}",
    permission=WRITE,
    status=204,
    summary="Remove a member (not the last owner)",
    path_params=MEMBER_ID,
)
def remove_member(call: Call) -> Any:
    row = found_member(call)
    members.remove(acting_admin(call), operator(found(call)), row.id)
    return Reply(204)


@api.endpoint(
    "GET",
    "/organizations/{organization_id}/invitations",
    permission=READ,
    summary="List an organization's invitations, newest first, with their state",
    path_params=ID,
    answer=listing("invitations", INVITATION),
)
def list_invitations(call: Call) -> Any:
    rows = invitations.of_organization(operator(found(call)))
    return {"invitations": [invitation_json(row) for row in rows]}


@api.endpoint(
    "POST",
    "/organizations/{organization_id}/invitations",
    permission=WRITE,
    status=201,
    summary="Invite an email address with a role (mails the link)",
    path_params=ID,
    body=closed(
        {"email": {"type": "string", "minLength": 1, "maxLength": 320}, "role": ROLE},
        required=("email", "role"),
    ),
    answer=INVITATION,
)
def invite(call: Call) -> Any:
    body = call.body
    row = invitations.invite(
        acting_admin(call), operator(found(call)), body["email"], body["role"], _link
    )
    return invitation_json(row)


@api.endpoint(
    "POST",
    "/organizations/{organization_id}/invitations/{invitation_id}/resend",
    permission=WRITE,
    summary="Mail a pending invitation again, with a new link and expiry",
    path_params=INVITATION_ID,
    answer=INVITATION,
)
def resend_invitation(call: Call) -> Any:
    row = _invitation(call)
    invitations.resend(acting_admin(call), operator(found(call)), row.id, _link)
    return invitation_json(row)


@api.endpoint(
    "POST",
    "/organizations/{organization_id}/invitations/{invitation_id}/cancel",
    permission=WRITE,
    summary="Cancel a pending invitation",
    path_params=INVITATION_ID,
    answer=INVITATION,
)
def cancel_invitation(call: Call) -> Any:
    row = _invitation(call)
    invitations.cancel(acting_admin(call), operator(found(call)), row.id)
    return invitation_json(row)
