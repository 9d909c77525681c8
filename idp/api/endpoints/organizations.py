"""Management API: organizations, as an administrator acting from outside them
(idp.admin.organizations finds them; idp.identity.organizations does the work, with the
administrator as an operator). Search is by the start of the name or the slug, in pages
ordered by id (`after`: the last id of the previous page)."""

from __future__ import annotations

from typing import Any

from idp.admin import organizations as operators
from idp.api.problems import ApiProblem
from idp.api.registry import INTEGER, Call, Reply, acting_admin, api
from idp.api.schemas import NAME, PAGE_SIZE, TIME, answer, closed, listing
from idp.db import db
from idp.identity import organizations
from idp.identity.models import User
from idp.identity.organization_models import Organization
from idp.identity.organizations import MAX_LOGO_URL

READ, WRITE = "admin:organizations:read", "admin:organizations:write"
ID = {"organization_id": INTEGER}

ORGANIZATION = answer(
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "slug": {"type": "string"},
        "logo_url": {"type": ["string", "null"]},
        "require_two_factor": {"type": "boolean"},
        "member_count": {"type": "integer"},
        "created_at": TIME,
    }
)
FIELDS: dict[str, Any] = {
    "name": NAME,
    "slug": {"type": "string", "minLength": 1, "maxLength": 64},
    "logo_url": {
        "type": "string",
        "maxLength": MAX_LOGO_URL,
        "description": "An https:// address, or empty for none.",
    },
}
CREATE = closed(
    {**FIELDS, "owner_id": {**INTEGER, "description": "The person who owns it."}},
    required=("name", "slug", "owner_id"),
)
UPDATE = closed({**FIELDS, "require_two_factor": {"type": "boolean"}})


def organization_json(organization: Organization, member_count: int) -> dict[str, Any]:
    return {
        "id": organization.id,
        "name": organization.name,
        "slug": organization.slug,
        "logo_url": organization.logo_url,
        "require_two_factor": organization.require_two_factor,
        "member_count": member_count,
        "created_at": organization.created_at.isoformat(),
    }


def found(call: Call) -> Organization:
    """The organization of the path, or 404."""
    organization = db.session.get(Organization, call.params["organization_id"])
    if organization is None:
        raise ApiProblem(404, f"No organization has the id {call.params['organization_id']}.")
    return organization


def _one(organization: Organization) -> dict[str, Any]:
    count = operators.member_counts([organization.id])[organization.id]
    return organization_json(organization, count)


@api.endpoint(
    "GET",
    "/organizations",
    permission=READ,
    summary="List organizations, or find them by the start of their name or slug",
    query={
        "q": {"type": "string", "maxLength": 200},
        "limit": PAGE_SIZE,
        "after": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    },
    answer=listing("organizations", ORGANIZATION),
)
def list_organizations(call: Call) -> Any:
    query = call.query
    rows = operators.search(query.get("q", ""), query.get("limit", 50), query.get("after"))
    counts = operators.member_counts([row.id for row in rows])
    return {"organizations": [organization_json(row, counts[row.id]) for row in rows]}


@api.endpoint(
    "GET",
    "/organizations/{organization_id}",
    permission=READ,
    summary="Get an organization",
    path_params=ID,
    answer=ORGANIZATION,
)
def get_organization(call: Call) -> Any:
    return _one(found(call))


@api.endpoint(
    "POST",
    "/organizations",
    permission=WRITE,
    status=201,
    summary="Create an organization owned by a person",
    body=CREATE,
    answer=ORGANIZATION,
)
def create_organization(call: Call) -> Any:
    body = call.body
    owner = db.session.get(User, body["owner_id"])
    if owner is None:
        raise ApiProblem(
            422,
            f"No person has the id {body['owner_id']}.",
            errors=[{"pointer": "/owner_id", "detail": "No such person."}],
        )
    fields = organizations.Fields(body["name"], body["slug"], body.get("logo_url", ""))
    return _one(organizations.create_for(acting_admin(call), owner, fields))


@api.endpoint(
    "PATCH",
    "/organizations/{organization_id}",
    permission=WRITE,
    summary="Change an organization's name, slug, logo or two-factor policy",
    path_params=ID,
    body=UPDATE,
    answer=ORGANIZATION,
)
def update_organization(call: Call) -> Any:
    organization = found(call)
    body = {
        "name": organization.name,
        "slug": organization.slug,
        "logo_url": organization.logo_url or "",
        "require_two_factor": organization.require_two_factor,
        **call.body,
    }
    organizations.update(
        acting_admin(call),
        operators.operator(organization),
        organizations.Fields(body["name"], body["slug"], body["logo_url"]),
        require_two_factor=body["require_two_factor"],
    )
    return _one(organization)


@api.endpoint(
    "DELETE",
    "/organizations/{organization_id}",
    permission=WRITE,
    status=204,
    summary="Delete an organization with its members, invitations, roles and teams",
    path_params=ID,
)
def delete_organization(call: Call) -> Any:
    operators.delete(acting_admin(call), found(call))
    return Reply(204)
