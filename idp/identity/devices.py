"""The devices behind a user's sessions and trusted devices, as the account pages list them,
with human names ("Firefox on Windows")."""

from __future__ import annotations

from functools import lru_cache

from idp.identity import two_factor
from idp.identity.models import User
from idp.identity.sessions import app_sessions


@lru_cache(maxsize=1024)
def describe_device(user_agent: str | None) -> str:
    if not user_agent:
        return "Unknown device"
    # Imported on first use: a worker that serves no account page never holds it (with its
    # YAML loader, about 2 MiB).
    from ua_parser import parse

    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    if browser and browser != "Other" and system and system != "Other":
        return f"{browser} on {system}"
    if browser and browser != "Other":
        return browser
    return "Unknown device"


def sessions_listed(user: User, current_id: int | None) -> list[dict[str, object]]:
    """The user's sessions, each with its device and whether it is `current_id`."""
    return [
        {"row": row, "device": describe_device(row.user_agent), "current": row.id == current_id}
        for row in app_sessions().list_for(user.id)
    ]


def trusted_devices_listed(user: User, token: str | None) -> list[dict[str, object]]:
    """The user's trusted devices, each with its device and whether `token` names it."""
    this = two_factor.this_device(user, token)
    return [
        {
            "row": row,
            "device": describe_device(row.user_agent),
            "current": this is not None and this.id == row.id,
        }
        for row in two_factor.trusted_devices(user)
    ]
