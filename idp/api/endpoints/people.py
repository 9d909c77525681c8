"""Management API: people (idp.identity.users does the work). Search is by the start of the
email address, in pages ordered by id (`after`: the last id of the previous page). A person's
`ban` is shown while it lasts; what an admin does to a person is in `people_actions.py`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

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
    summary="List people, or find them by the start of their email address",
    query={
        "email": {"type": "string", "maxLength": 320},
        "limit": PAGE_SIZE,
        "after": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    },
    answer=listing("people", PERSON),
)
def list_people(call: Call) -> Any:
    query = select(User).order_by(User.id).limit(call.query.get("limit", 50))
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
    summary="Get a person",
    path_params=ID,
    answer=PERSON,
)
def get_person(call: Call) -> Any:
    return with_ban(found(call))


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
