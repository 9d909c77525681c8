"""Management API: people (idp.identity.users does the work). Search is as in the console
(idp.admin.people): by the start of the email address or the name (`q`), with its filters,
in pages ordered by id (`after`: the last id of the previous page). One person's answer
carries what the console's person page shows: sessions, second factors, organizations and
apps with access (their audit trail is `GET /audit?user_id=`). A person's `ban` is shown
while it lasts; what an admin does to a person is in `people_actions.py`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idp.admin import people as finding
from idp.api.problems import ApiProblem
from idp.api.registry import INTEGER, Call, api
from idp.api.schemas import MAYBE_TIME, NAME, PAGE_SIZE, TIME, answer, closed, listing
from idp.core.audit import Event
from idp.db import db
from idp.identity import users
from idp.identity.bans import Ban
from idp.identity.models import User
from idp.identity.passwords import MAX_LENGTH

READ, WRITE = "admin:people:read", "admin:people:write"
ID = {"user_id": INTEGER}

PERSON = answer(
    {
        "id": {"type": "integer"},
        "email": {"type": "string"},
        "name": {"type": "string"},
        "is_admin": {"type": "boolean"},
        "email_verified_at": MAYBE_TIME,
        "created_at": TIME,
        "ban": {
            "oneOf": [
                {"type": "null"},
                answer({"reason": {"type": "string"}, "since": TIME, "expires_at": MAYBE_TIME}),
            ]
        },
    }
)
FILTER = "(" + "|".join(finding.FILTERS) + ")"
PERSON_IN_FULL = answer(
    {
        **PERSON["properties"],
        "sessions": {
            "type": "array",
            "items": answer(
                {
                    "id": {"type": "integer"},
                    "created_at": TIME,
                    "authenticated_at": TIME,
                    "last_seen_at": TIME,
                    "expires_at": TIME,
                    "amr": {"type": "array", "items": {"type": "string"}},
                    "ip": {"type": ["string", "null"]},
                    "user_agent": {"type": ["string", "null"]},
                }
            ),
        },
        "two_factor": answer(
            {"app": {"type": "boolean"}, "backup_codes_left": {"type": "integer"}}
        ),
        "passkeys": {
            "type": "array",
            "items": answer(
                {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "created_at": TIME,
                    "last_used_at": MAYBE_TIME,
                }
            ),
        },
        "organizations": {
            "type": "array",
            "items": answer(
                {"id": {"type": "integer"}, "slug": {"type": "string"}, "role": {"type": "string"}}
            ),
        },
        "apps": {
            "type": "array",
            "items": answer(
                {
                    "client_id": {"type": "string"},
                    "name": {"type": "string"},
                    "scopes": {"type": "array", "items": {"type": "string"}},
                    "since": TIME,
                }
            ),
        },
    }
)
BODY = closed(
    {
        "email": {"type": "string", "minLength": 1, "maxLength": 320},
        "name": NAME,
        "password": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH},
        "is_admin": {"type": "boolean"},
    },
    required=("email", "name", "password"),
)


def person_json(user: User, ban: Ban | None) -> dict[str, Any]:
    """The person, with their ban (their `Ban` row, if any) while it lasts."""
    verified = user.email_verified_at
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "is_admin": user.is_admin,
        "email_verified_at": verified.isoformat() if verified else None,
        "created_at": user.created_at.isoformat(),
        "ban": _ban_json(ban) if ban is not None and ban.is_active() else None,
    }


def _ban_json(ban: Ban) -> dict[str, Any]:
    return {
        "reason": ban.reason,
        "since": ban.created_at.isoformat(),
        "expires_at": ban.expires_at.isoformat() if ban.expires_at else None,
    }


def with_ban(user: User) -> dict[str, Any]:
    return person_json(user, db.session.get(Ban, user.id, populate_existing=True))


def found(call: Call) -> User:
    user = db.session.get(User, call.params["user_id"])
    if user is None:
        raise ApiProblem(404, f"No person has the id {call.params['user_id']}.")
    return user


@api.endpoint(
    "GET",
    "/people",
    permission=READ,
    summary="List people, or find them by the start of their email address or name",
    query={
        "q": {"type": "string", "maxLength": finding.MAX_QUERY_LENGTH},
        "filter": {"type": "string", "pattern": f"^{FILTER}(,{FILTER})*$"},
        "email": {"type": "string", "maxLength": 320},
        "limit": PAGE_SIZE,
        "after": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    },
    answer=listing("people", PERSON),
)
def list_people(call: Call) -> Any:
    query = select(User).order_by(User.id).limit(call.query.get("limit", 50))
    filters = frozenset(call.query["filter"].split(",")) if "filter" in call.query else frozenset()
    search = finding.Search(query=call.query.get("q", "").strip().lower(), filters=filters)
    query = finding.filtered(query, search)
    if call.query.get("email"):
        query = query.where(User.email.startswith(call.query["email"].lower(), autoescape=True))
    if "after" in call.query:
        query = query.where(User.id > call.query["after"])
    people = list(db.session.scalars(query))
    bans = db.session.scalars(select(Ban).where(Ban.user_id.in_([user.id for user in people])))
    by_user = {ban.user_id: ban for ban in bans}
    return {"people": [person_json(user, by_user.get(user.id)) for user in people]}


@api.endpoint(
    "GET",
    "/people/{user_id}",
    permission=READ,
    summary="Get a person, with their sessions, second factors, organizations and apps",
    path_params=ID,
    answer=PERSON_IN_FULL,
)
def get_person(call: Call) -> Any:
    user = found(call)
    seen = finding.overview(user, trail_length=0)
    return {
        **person_json(user, seen.ban),
        "sessions": [
            {
                "id": s.id,
                "created_at": s.created_at.isoformat(),
                "authenticated_at": s.authenticated_at.isoformat(),
                "last_seen_at": s.last_seen_at.isoformat(),
                "expires_at": s.expires_at.isoformat(),
                "amr": list(s.amr or []),
                "ip": s.ip,
                "user_agent": s.user_agent,
            }
            for s in seen.sessions
        ],
        "two_factor": {"app": seen.totp is not None, "backup_codes_left": seen.backup_codes_left},
        "passkeys": [
            {
                "id": p.id,
                "name": p.name,
                "created_at": p.created_at.isoformat(),
                "last_used_at": p.last_used_at.isoformat() if p.last_used_at else None,
            }
            for p in seen.passkeys
        ],
        "organizations": [
            {"id": m.organization_id, "slug": m.organization.slug, "role": m.role}
            for m in seen.memberships
        ],
        "apps": [
            {
                "client_id": a.client.client_id,
                "name": a.client.name,
                "scopes": a.scopes,
                "since": a.created_at.isoformat(),
            }
            for a in seen.apps
        ],
    }


@api.endpoint(
    "POST",
    "/people",
    permission=WRITE,
    status=201,
    summary="Create a person",
    body=BODY,
    answer=PERSON,
)
def create_person(call: Call) -> Any:
    body = call.body
    user = users.create_user(
        body["email"],
        body["name"],
        body["password"],
        is_admin=body.get("is_admin", False),
        event=Event.USER_CREATED,
    )
    return person_json(user, None)
