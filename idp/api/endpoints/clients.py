"""Management API: OAuth clients (idp.oauth.clients does the work)."""

from __future__ import annotations

from typing import Any

from idp.api.problems import ApiProblem
from idp.api.registry import STRING, Call, Reply, api
from idp.api.schemas import (
    LIFETIME,
    MAYBE_TIME,
    NAME,
    TIME,
    answer,
    closed,
    listing,
    strings,
)
from idp.oauth import organizations
from idp.oauth.client_auth import AUTH_METHODS
from idp.oauth.clients import (
    GRANT_TYPES,
    ClientSpec,
    create_client,
    delete_client,
    find_client,
    list_clients,
    rotate_secret,
    set_disabled,
    update_client,
)
from idp.oauth.models import Client

READ, WRITE = "admin:clients:read", "admin:clients:write"
ID = {"client_id": STRING}

FIELDS: dict[str, Any] = {
    "client_name": NAME,
    "redirect_uris": strings(),
    "post_logout_redirect_uris": strings(),
    "grant_types": strings({"enum": list(GRANT_TYPES)}, max_items=len(GRANT_TYPES)),
    "scope": {"type": "string", "maxLength": 2000},
    "token_endpoint_auth_method": {"enum": list(AUTH_METHODS)},
    "first_party": {"type": "boolean"},
    "access_token_ttl": LIFETIME,
    "id_token_ttl": LIFETIME,
    "refresh_token_ttl": LIFETIME,
    "organizations": strings(STRING, max_items=100),  # slugs; empty: everyone
}
CLIENT = answer(
    {
        **FIELDS,
        "client_id": {"type": "string"},
        "client_name": {"type": "string"},
        "scope": {"type": "string"},
        "grant_types": {"type": "array", "items": {"type": "string"}},
        "redirect_uris": {"type": "array", "items": {"type": "string"}},
        "post_logout_redirect_uris": {"type": "array", "items": {"type": "string"}},
        "token_endpoint_auth_method": {"type": "string"},
        "access_token_ttl": {"type": "integer"},
        "id_token_ttl": {"type": "integer"},
        "refresh_token_ttl": {"type": "integer"},
        "dynamic": {"type": "boolean"},
        "organizations": {"type": "array", "items": {"type": "string"}},
        "created_at": TIME,
        "disabled_at": MAYBE_TIME,
    }
)
WITH_SECRET = {
    **CLIENT,
    "properties": {**CLIENT["properties"], "client_secret": {"type": ["string", "null"]}},
}
SECRET = answer({"client_id": {"type": "string"}, "client_secret": {"type": "string"}})


def client_json(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "scope": client.scope,
        "token_endpoint_auth_method": client.auth_method,
        "first_party": client.first_party,
        "access_token_ttl": client.access_token_ttl,
        "id_token_ttl": client.id_token_ttl,
        "refresh_token_ttl": client.refresh_token_ttl,
        "dynamic": client.dynamic,
        "organizations": organizations.restricted_slugs(client),
        "created_at": client.created_at.isoformat(),
        "disabled_at": client.disabled_at.isoformat() if client.disabled_at else None,
    }


def found(call: Call) -> Client:
    client = find_client(call.params["client_id"])
    if client is None:
        raise ApiProblem(404, f"No client has the client_id {call.params['client_id']}.")
    return client


def spec_of(body: dict[str, Any], client: Client | None = None) -> ClientSpec:
    """The spec a body asks for; on an update, what it leaves out stays as it is."""
    current: dict[str, Any] = client_json(client) if client else {}
    merged = {**current, **body}
    default = ClientSpec(name="", redirect_uris=[])
    scope = merged.get("scope")
    return ClientSpec(
        name=merged["client_name"],
        redirect_uris=merged.get("redirect_uris", []),
        post_logout_redirect_uris=merged.get("post_logout_redirect_uris", []),
        grant_types=merged.get("grant_types", default.grant_types),
        scopes=scope.split() if scope else default.scopes,
        auth_method=merged.get("token_endpoint_auth_method"),
        first_party=merged.get("first_party", False),
        logo_uri=client.logo_uri if client else None,
        client_uri=client.client_uri if client else None,
        jwks=client.jwks if client else None,
        access_token_ttl=merged.get("access_token_ttl", default.access_token_ttl),
        id_token_ttl=merged.get("id_token_ttl", default.id_token_ttl),
        refresh_token_ttl=merged.get("refresh_token_ttl", default.refresh_token_ttl),
    )


@api.endpoint(
    "GET", "/clients", permission=READ, summary="List clients", answer=listing("clients", CLIENT)
)
def list_clients_api(call: Call) -> Any:
    return {"clients": [client_json(client) for client in list_clients()]}


@api.endpoint(
    "POST",
    "/clients",
    permission=WRITE,
    summary="Register a client",
    status=201,
    body=closed(FIELDS, required=("client_name",)),
    answer=WITH_SECRET,
)
def create_client_api(call: Call) -> Any:
    slugs = call.body.get("organizations")
    if slugs is not None:
        organizations.organization_ids(slugs)  # an unknown slug is refused before anything
    client, secret = create_client(spec_of(call.body), admin=call.caller.user)
    if slugs:
        organizations.restrict(client, slugs, admin=call.caller.user)
    return {**client_json(client), "client_secret": secret}


@api.endpoint(
    "GET",
    "/clients/{client_id}",
    permission=READ,
    summary="Get a client",
    path_params=ID,
    answer=CLIENT,
)
def get_client_api(call: Call) -> Any:
    return client_json(found(call))


@api.endpoint(
    "PATCH",
    "/clients/{client_id}",
    permission=WRITE,
    summary="Change a client",
    path_params=ID,
    body=closed(FIELDS),
    answer=WITH_SECRET,
)
def update_client_api(call: Call) -> Any:
    client = found(call)
    slugs = call.body.get("organizations")
    if slugs is not None:
        organizations.organization_ids(slugs)
    secret = update_client(client, spec_of(call.body, client), admin=call.caller.user)
    if slugs is not None:
        organizations.restrict(client, slugs, admin=call.caller.user)
    return {**client_json(client), "client_secret": secret}


@api.endpoint(
    "POST",
    "/clients/{client_id}/secret",
    permission=WRITE,
    summary="Rotate a client's secret",
    path_params=ID,
    answer=SECRET,
)
def rotate_secret_api(call: Call) -> Any:
    client = found(call)
    return {
        "client_id": client.client_id,
        "client_secret": rotate_secret(client, admin=call.caller.user),
    }


@api.endpoint(
    "POST",
    "/clients/{client_id}/disable",
    permission=WRITE,
    summary="Disable a client and revoke its tokens",
    path_params=ID,
    answer=CLIENT,
)
def disable_client_api(call: Call) -> Any:
    client = found(call)
    set_disabled(client, True, admin=call.caller.user)
    return client_json(client)


@api.endpoint(
    "POST",
    "/clients/{client_id}/enable",
    permission=WRITE,
    summary="Enable a disabled client",
    path_params=ID,
    answer=CLIENT,
)
def enable_client_api(call: Call) -> Any:
    client = found(call)
    set_disabled(client, False, admin=call.caller.user)
    return client_json(client)


@api.endpoint(
    "DELETE",
    "/clients/{client_id}",
    permission=WRITE,
    summary="Delete a client",
    path_params=ID,
    status=204,
)
def delete_client_api(call: Call) -> Any:
    delete_client(found(call).client_id, admin=call.caller.user)
    return Reply(204)
