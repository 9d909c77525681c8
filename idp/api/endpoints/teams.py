"""Management API: an organization's roles (permission statements; idp.identity.permissions)
and teams with their members (idp.identity.teams), with the administrator as an operator.
The built-in roles are listed with the custom ones and cannot be changed or deleted."""

from __future__ import annotations

from typing import Any

from idp.admin.organizations import operator
from idp.api.endpoints.organizations import ID, READ, WRITE, found
from idp.api.problems import ApiProblem
from idp.api.registry import INTEGER, Call, Reply, acting_admin, api
from idp.api.schemas import NAME, TIME, answer, closed, listing
from idp.db import db
from idp.identity import permissions, teams
from idp.identity.organization_models import Organization, Team

ROLE_PATH = {**ID, "role": {"type": "string", "minLength": 1, "maxLength": 64}}
TEAM_ID = {**ID, "team_id": INTEGER}
TEAM_MEMBER_ID = {**TEAM_ID, "user_id": INTEGER}

STATEMENTS = {
    "type": "object",
    "description": "Resource -> the actions the role allows on it.",
    "properties": {
        resource: {
            "type": "array",
            "items": {"enum": list(actions)},
            "maxItems": len(actions),
        }
        for resource, actions in permissions.STATEMENTS.items()
    },
    "additionalProperties": False,
}
ROLE = answer(
    {
        "name": {"type": "string"},
        "built_in": {"type": "boolean"},
        "statements": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    }
)
TEAM = answer({"id": {"type": "integer"}, "name": {"type": "string"}, "created_at": TIME})
TEAM_MEMBER = answer(
    {"user_id": {"type": "integer"}, "email": {"type": "string"}, "name": {"type": "string"}}
)


def role_json(organization: Organization, name: str) -> dict[str, Any]:
    statements = permissions.statements_of(organization.id, name)
    return {
        "name": name,
        "built_in": name in permissions.BUILT_IN,
        "statements": {resource: list(actions) for resource, actions in statements.items()},
    }


def team_json(team: Team) -> dict[str, Any]:
    return {"id": team.id, "name": team.name, "created_at": team.created_at.isoformat()}


def _custom_role(call: Call) -> str:
    """The role of the path: 404 when the organization has none by that name."""
    name = call.params["role"]
    if not permissions.role_exists(found(call).id, name):
        raise ApiProblem(404, f"This organization has no role named {name}.")
    return str(name)


def _team(call: Call) -> Team:
    team = db.session.get(Team, call.params["team_id"])
    if team is None or team.organization_id != found(call).id:
        raise ApiProblem(404, f"No team of this organization has the id {call.params['team_id']}.")
    return team


@api.endpoint(
    "GET",
    "/organizations/{organization_id}/roles",
    permission=READ,
    summary="List an organization's roles, built-in and custom, with their statements",
    path_params=ID,
    answer=listing("roles", ROLE),
)
def list_roles(call: Call) -> Any:
    organization = found(call)
    names = permissions.roles_of(organization)
    return {"roles": [role_json(organization, name) for name in names]}


@api.endpoint(
    "POST",
    "/organizations/{organization_id}/roles",
    permission=WRITE,
    status=201,
    summary="Create a custom role",
    path_params=ID,
    body=closed(
        {"name": {"type": "string", "minLength": 1, "maxLength": 64}, "statements": STATEMENTS},
        required=("name", "statements"),
    ),
    answer=ROLE,
)
def create_role(call: Call) -> Any:
    organization = found(call)
    row = permissions.create_role(
        acting_admin(call), operator(organization), call.body["name"], call.body["statements"]
    )
    return role_json(organization, row.name)


@api.endpoint(
    "PUT",
    "/organizations/{organization_id}/roles/{role}",
    permission=WRITE,
    summary="Replace a custom role's statements",
    path_params=ROLE_PATH,
    body=closed({"statements": STATEMENTS}, required=("statements",)),
    answer=ROLE,
)
def update_role(call: Call) -> Any:
    name, organization = _custom_role(call), found(call)
    permissions.update_role(
        acting_admin(call), operator(organization), name, call.body["statements"]
    )
    return role_json(organization, name)


@api.endpoint(
    "DELETE",
    "/organizations/{organization_id}/roles/{role}",
    permission=WRITE,
    status=204,
    summary="Delete a custom role no member holds",
    path_params=ROLE_PATH,
)
def delete_role(call: Call) -> Any:
    name = _custom_role(call)
    permissions.delete_role(acting_admin(call), operator(found(call)), name)
    return Reply(204)


@api.endpoint(
    "GET",
    "/organizations/{organization_id}/teams",
    permission=READ,
    summary="List an organization's teams",
    path_params=ID,
    answer=listing("teams", TEAM),
)
def list_teams(call: Call) -> Any:
    return {"teams": [team_json(team) for team in teams.teams_of(found(call).id)]}


@api.endpoint(
    "POST",
    "/organizations/{organization_id}/teams",
    permission=WRITE,
    status=201,
    summary="Create a team",
    path_params=ID,
    body=closed({"name": NAME}, required=("name",)),
    answer=TEAM,
)
def create_team(call: Call) -> Any:
    team = teams.create(acting_admin(call), operator(found(call)), call.body["name"])
    return team_json(team)


@api.endpoint(
    "PATCH",
    "/organizations/{organization_id}/teams/{team_id}",
    permission=WRITE,
    summary="Rename a team",
    path_params=TEAM_ID,
    body=closed({"name": NAME}, required=("name",)),
    answer=TEAM,
)
def rename_team(call: Call) -> Any:
    team = _team(call)
    teams.rename(acting_admin(call), operator(found(call)), team.id, call.body["name"])
    return team_json(team)


@api.endpoint(
    "DELETE",
    "/organizations/{organization_id}/teams/{team_id}",
    permission=WRITE,
    status=204,
    summary="Delete a team",
    path_params=TEAM_ID,
)
def delete_team(call: Call) -> Any:
    team = _team(call)
    teams.remove(acting_admin(call), operator(found(call)), team.id)
    return Reply(204)


@api.endpoint(
    "GET",
    "/organizations/{organization_id}/teams/{team_id}/members",
    permission=READ,
    summary="List a team's members",
    path_params=TEAM_ID,
    answer=listing("members", TEAM_MEMBER),
)
def list_team_members(call: Call) -> Any:
    rows = teams.team_members(_team(call).id)
    return {
        "members": [
            {"user_id": row.user_id, "email": row.user.email, "name": row.user.name} for row in rows
        ]
    }


@api.endpoint(
    "POST",
    "/organizations/{organization_id}/teams/{team_id}/members",
    permission=WRITE,
    status=201,
    summary="Add a member of the organization to a team",
    path_params=TEAM_ID,
    body=closed({"user_id": INTEGER}, required=("user_id",)),
    answer=TEAM_MEMBER,
)
def add_team_member(call: Call) -> Any:
    team = _team(call)
    user_id = call.body["user_id"]
    teams.add_person(acting_admin(call), operator(found(call)), team.id, user_id)
    row = next(row for row in teams.team_members(team.id) if row.user_id == user_id)
    return {"user_id": row.user_id, "email": row.user.email, "name": row.user.name}


@api.endpoint(
    "DELETE",
    "/organizations/{organization_id}/teams/{team_id}/members/{user_id}",
    permission=WRITE,
    status=204,
    summary="Remove a person from a team",
    path_params=TEAM_MEMBER_ID,
)
def remove_team_member(call: Call) -> Any:
    team = _team(call)
    user_id = call.params["user_id"]
    if all(row.user_id != user_id for row in teams.team_members(team.id)):
        raise ApiProblem(404, f"No member of this team has the user id {user_id}.")
    teams.remove_member(acting_admin(call), operator(found(call)), team.id, user_id)
    return Reply(204)
