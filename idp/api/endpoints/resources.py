"""Management API: protected resources (RFC 8707; idp.oauth.resources does the work)."""

from __future__ import annotations

from typing import Any

from idp.api.problems import ApiProblem
from idp.api.registry import INTEGER, Call, Reply, api
from idp.api.schemas import LIFETIME, NAME, TIME, URI, answer, closed, listing
from idp.db import db
from idp.oauth.introspection import introspector
from idp.oauth.resources import (
    Resource,
    create_resource,
    delete_resource,
    list_resources,
    update_resource,
)

READ, WRITE = "admin:resources:read", "admin:resources:write"
ID = {"resource_id": INTEGER}

SCOPES = {
    "type": "object",
    "description": "Each scope the resource accepts, with what it allows in plain words.",
    "additionalProperties": {"type": "string", "maxLength": 200},
    "minProperties": 1,
    "maxProperties": 100,
}
FIELDS: dict[str, Any] = {
    "name": NAME,
    "scopes": SCOPES,
    "access_token_ttl": {"oneOf": [LIFETIME, {"type": "null"}]},
    "introspection_client": {"type": ["string", "null"], "maxLength": 200},
}
RESOURCE = answer(
    {
        "id": {"type": "integer"},
        "uri": {"type": "string"},
        "name": {"type": "string"},
        "scopes": {"type": "object", "additionalProperties": {"type": "string"}},
        "access_token_ttl": {"type": ["integer", "null"]},
        "introspection_client": {"type": ["string", "null"]},
        "created_at": TIME,
    }
)


def resource_json(resource: Resource) -> dict[str, Any]:
    return {
        "id": resource.id,
        "uri": resource.uri,
        "name": resource.name,
        "scopes": resource.scopes,
        "access_token_ttl": resource.access_token_ttl,
        "introspection_client": resource.introspection_client_id,
        "created_at": resource.created_at.isoformat(),
    }


def found(call: Call) -> Resource:
    resource = db.session.get(Resource, call.params["resource_id"])
    if resource is None:
        raise ApiProblem(404, f"No resource has the id {call.params['resource_id']}.")
    return resource


def _introspector(client_id: str | None) -> str | None:
    return introspector(client_id) if client_id else None


@api.endpoint(
    "GET",
    "/resources",
    permission=READ,
    summary="List protected resources",
    answer=listing("resources", RESOURCE),
)
def list_resources_api(call: Call) -> Any:
    return {"resources": [resource_json(resource) for resource in list_resources()]}


@api.endpoint(
    "POST",
    "/resources",
    permission=WRITE,
    summary="Register a protected resource",
    status=201,
    body=closed({"uri": URI, **FIELDS}, required=("uri", "name", "scopes")),
    answer=RESOURCE,
)
def create_resource_api(call: Call) -> Any:
    body = call.body
    resource = create_resource(
        body["uri"],
        body["name"],
        body["scopes"],
        body.get("access_token_ttl"),
        introspection_client=_introspector(body.get("introspection_client")),
        admin=call.caller.user,
    )
    return resource_json(resource)


@api.endpoint(
    "GET",
    "/resources/{resource_id}",
    permission=READ,
    summary="Get a protected resource",
    path_params=ID,
    answer=RESOURCE,
)
def get_resource_api(call: Call) -> Any:
    return resource_json(found(call))


@api.endpoint(
    "PATCH",
    "/resources/{resource_id}",
    permission=WRITE,
    summary="Change a protected resource (not its URI)",
    path_params=ID,
    body=closed(FIELDS),
    answer=RESOURCE,
)
def update_resource_api(call: Call) -> Any:
    resource = found(call)
    body = {**resource_json(resource), **call.body}
    update_resource(
        resource,
        body["name"],
        body["scopes"],
        body["access_token_ttl"],
        introspection_client=_introspector(body["introspection_client"]),
        admin=call.caller.user,
    )
    return resource_json(resource)


@api.endpoint(
    "DELETE",
    "/resources/{resource_id}",
    permission=WRITE,
    summary="Delete a protected resource",
    path_params=ID,
    status=204,
)
def delete_resource_api(call: Call) -> Any:
    delete_resource(found(call).uri, admin=call.caller.user)
    return Reply(204)
