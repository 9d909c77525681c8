"""Management API: what an administrator does to a person, as the console's person page does
(idp.admin.moderation does the work): ban (ending their sessions and tokens at once), unban,
give or take the admin role, end their sessions, mail them a password reset link. The admin
never knows or sets the password."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import url_for

from idp.admin import moderation
from idp.api.endpoints.people import ID, PERSON, WRITE, found, with_ban
from idp.api.registry import Call, Reply, acting_admin, api
from idp.api.schemas import closed
from idp.errors import InvalidInput
from idp.identity import recovery
from idp.identity.bans import MAX_REASON_LENGTH

BAN = closed(
    {
        "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON_LENGTH},
        "expires_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When the ban ends (RFC 3339, with its offset); null: never.",
        },
    },
    required=("reason",),
)


@api.endpoint(
    "POST",
    "/people/{user_id}/ban",
    permission=WRITE,
    summary="Ban a person (or change their ban); ends their sessions and tokens",
    path_params=ID,
    body=BAN,
    answer=PERSON,
)
def ban_person(call: Call) -> Any:
    user = found(call)
    expires_at = moment(call.body.get("expires_at"))
    moderation.ban(user, call.body["reason"], expires_at, admin=acting_admin(call))
    return with_ban(user)


@api.endpoint(
    "POST",
    "/people/{user_id}/unban",
    permission=WRITE,
    summary="Lift a person's ban",
    path_params=ID,
    answer=PERSON,
)
def unban_person(call: Call) -> Any:
    user = found(call)
    moderation.unban(user, admin=acting_admin(call))
    return with_ban(user)


@api.endpoint(
    "PUT",
    "/people/{user_id}/admin",
    permission=WRITE,
    summary="Give or take the admin role (not your own)",
    path_params=ID,
    body=closed({"is_admin": {"type": "boolean"}}, required=("is_admin",)),
    answer=PERSON,
)
def set_admin_role(call: Call) -> Any:
    user = found(call)
    moderation.set_admin(user, call.body["is_admin"], admin=acting_admin(call))
    return with_ban(user)


@api.endpoint(
    "POST",
    "/people/{user_id}/sessions/revoke",
    permission=WRITE,
    summary="End every session of a person",
    path_params=ID,
    answer={
        "type": "object",
        "properties": {"revoked": {"type": "integer"}},
        "required": ["revoked"],
    },
)
def revoke_person_sessions(call: Call) -> Any:
    user = found(call)
    return {"revoked": moderation.revoke_sessions(user, admin=acting_admin(call))}


@api.endpoint(
    "POST",
    "/people/{user_id}/password-reset",
    permission=WRITE,
    status=204,
    summary="Mail a person a password reset link",
    path_params=ID,
)
def send_password_reset(call: Call) -> Any:
    user = found(call)
    admin = acting_admin(call)
    link = lambda secret: url_for("recovery.reset_page", secret=secret, _external=True)  # noqa: E731
    recovery.send_reset_link(user.email, link, admin=admin.email)
    return Reply(204)


def moment(raw: str | None) -> datetime | None:
    """An RFC 3339 date and time, read as UTC when it names no offset; None for none."""
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            "Give the end as a date and time, such as 2027-01-31T18:00:00Z.", field="expires_at"
        ) from None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
