"""Management API: API keys, anyone's (idp.api.keys does the work). The key itself is in the
answer that creates it, and never again."""

from __future__ import annotations

from typing import Any

from idp.api.keys import MAX_DAYS, MAX_RATE_LIMIT, create_key, find_key, list_keys, revoke_key
from idp.api.models import ApiKey
from idp.api.problems import ApiProblem
from idp.api.registry import INTEGER, Call, api
from idp.api.schemas import MAYBE_TIME, NAME, TIME, answer, closed, listing
from idp.db import db
from idp.identity.models import User
from idp.oauth.management import SCOPES

READ, WRITE = "admin:api_keys:read", "admin:api_keys:write"

KEY = answer(
    {
        "id": {"type": "integer"},
        "prefix": {"type": "string"},
        "name": {"type": "string"},
        "user_id": {"type": "integer"},
        "permissions": {"type": "array", "items": {"type": "string"}},
        "rate_limit": {"type": "integer"},
        "created_at": TIME,
        "expires_at": MAYBE_TIME,
        "last_used_at": MAYBE_TIME,
        "revoked_at": MAYBE_TIME,
    }
)
NEW_KEY = {**KEY, "properties": {**KEY["properties"], "key": {"type": "string"}}}
NEW_KEY["required"] = [*KEY["required"], "key"]
BODY = closed(
    {
        "name": NAME,
        "user_id": {**INTEGER, "description": "The owner; the caller's own user by default."},
        "permissions": {
            "type": "array",
            "items": {"enum": list(SCOPES)},
            "maxItems": len(SCOPES),
        },
        "expires_in_days": {
            "oneOf": [{"type": "integer", "minimum": 1, "maximum": MAX_DAYS}, {"type": "null"}]
        },
        "rate_limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_RATE_LIMIT,
            "description": "Requests a minute (default 600).",
        },
    },
    required=("name",),
)


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "name": key.name,
        "user_id": key.user_id,
        "permissions": key.permissions,
        "rate_limit": key.rate_limit,
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _owner(call: Call) -> User:
    user_id = call.body.get("user_id")
    if user_id is None:
        if call.caller.user is None:
            raise ApiProblem(422, "Name the key's owner: user_id.")
        return call.caller.user
    owner = db.session.get(User, user_id)
    if owner is None:
        raise ApiProblem(422, f"No person has the id {user_id}.")
    return owner


@api.endpoint(
    "GET",
    "/api-keys",
    permission=READ,
    summary="List API keys",
    query={"user_id": INTEGER},
    answer=listing("api_keys", KEY),
)
def list_api_keys(call: Call) -> Any:
    owner = None
    if "user_id" in call.query:
        owner = db.session.get(User, call.query["user_id"])
        if owner is None:
            return {"api_keys": []}
    return {"api_keys": [key_json(key) for key in list_keys(owner)]}


@api.endpoint(
    "POST",
    "/api-keys",
    permission=WRITE,
    status=201,
    summary="Create an API key (the key is in this answer only)",
    body=BODY,
    answer=NEW_KEY,
)
def create_api_key(call: Call) -> Any:
    body = call.body
    key, secret = create_key(
        _owner(call),
        body["name"],
        body.get("permissions", []),
        expires_in_days=body.get("expires_in_days"),
        rate_limit=body.get("rate_limit", 600),
        admin=call.caller.user,
    )
    return {**key_json(key), "key": secret}


@api.endpoint(
    "POST",
    "/api-keys/{key_id}/revoke",
    permission=WRITE,
    summary="Revoke an API key",
    path_params={"key_id": INTEGER},
    answer=KEY,
)
def revoke_api_key(call: Call) -> Any:
    key = find_key(call.params["key_id"])
    if key is None:
        raise ApiProblem(404, f"No API key has the id {call.params['key_id']}.")
    revoke_key(key, by=call.caller.user)
    return key_json(key)
