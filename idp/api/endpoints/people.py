"""Management API: people (idp.identity.users does the work). Search is by the start of the
email address, in pages ordered by id (`after`: the last id of the previous page)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idp.api.problems import ApiProblem
from idp.api.registry import INTEGER, Call, api
from idp.api.schemas import MAYBE_TIME, NAME, PAGE_SIZE, TIME, answer, closed, listing
from idp.core.audit import Event
from idp.db import db
from idp.identity import users
from idp.identity.models import User
from idp.identity.passwords import MAX_LENGTH

READ, WRITE = "admin:people:read", "admin:people:write"

PERSON = answer(
    {
        "id": {"type": "integer"},
        "email": {"type": "string"},
        "name": {"type": "string"},
        "is_admin": {"type": "boolean"},
        "email_verified_at": MAYBE_TIME,
        "created_at": TIME,
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


def person_json(user: User) -> dict[str, Any]:
    verified = user.email_verified_at
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "is_admin": user.is_admin,
        "email_verified_at": verified.isoformat() if verified else None,
        "created_at": user.created_at.isoformat(),
    }


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
    return {"people": [person_json(user) for user in db.session.scalars(query)]}


@api.endpoint(
    "GET",
    "/people/{user_id}",
    permission=READ,
    summary="Get a person",
    path_params={"user_id": INTEGER},
    answer=PERSON,
)
def get_person(call: Call) -> Any:
    user = db.session.get(User, call.params["user_id"])
    if user is None:
        raise ApiProblem(404, f"No person has the id {call.params['user_id']}.")
    return person_json(user)


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
    return person_json(user)
