"""Management API: signing keys (idp.keys does the work; the rotation is audited here, with
who asked for it)."""

from __future__ import annotations

from typing import Any

from idp.api.registry import Call, api
from idp.api.schemas import MAYBE_TIME, TIME, answer, closed, listing
from idp.core.audit import Event, record
from idp.db import db
from idp.keys import KeyInfo, app_keys
from idp.keys.jwk import ALGORITHMS

KEY = answer(
    {
        "kid": {"type": "string"},
        "alg": {"type": "string"},
        "state": {"enum": ["pending", "active", "retiring", "expired"]},
        "published": {"type": "boolean"},
        "created_at": TIME,
        "activates_at": TIME,
        "published_until": MAYBE_TIME,
    }
)


def key_json(info: KeyInfo) -> dict[str, Any]:
    return {
        "kid": info.kid,
        "alg": info.alg,
        "state": str(info.state),
        "published": info.published,
        "created_at": info.created_at.isoformat(),
        "activates_at": info.activates_at.isoformat(),
        "published_until": info.published_until.isoformat() if info.published_until else None,
    }


@api.endpoint(
    "GET",
    "/signing-keys",
    permission="admin:keys:read",
    summary="List the signing keys and their states",
    answer=listing("keys", KEY),
)
def list_signing_keys(call: Call) -> Any:
    store = app_keys()
    return {"keys": [key_json(info) for info in store.keys()]}  # noqa: SIM118 (not a dict)


@api.endpoint(
    "POST",
    "/signing-keys",
    permission="admin:keys:write",
    status=201,
    summary="Rotate: add a key, published now, signing after the JWKS cache time",
    body=closed({"alg": {"enum": list(ALGORITHMS)}}),
    answer=KEY,
)
def rotate_signing_key(call: Call) -> Any:
    info = app_keys().rotate(call.body.get("alg"))
    user = call.caller.user
    record(
        Event.KEY_ROTATED,
        user_id=user.id if user else None,
        subject=info.kid,
        alg=info.alg,
        activates_at=info.activates_at.isoformat(),
        by=call.caller.subject,
    )
    db.session.commit()
    return key_json(info)
