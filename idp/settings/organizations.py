"""Settings of organizations: who may create them, how many each person may create, and how
long an invitation stays valid. `Settings` inherits these fields."""

from __future__ import annotations

import dataclasses

from idp.settings import parse

ANYONE = "anyone"
ADMINS = "admins"


@dataclasses.dataclass(frozen=True)
class OrganizationSettings:
    organization_creators: str = parse.setting(
        "IDP_ORGANIZATION_CREATORS",
        parse.choice(ANYONE, ADMINS),
        "Who may create organizations: `anyone` signed in, or `admins` only.",
        default=ANYONE,
    )
    organization_limit: int = parse.setting(
        "IDP_ORGANIZATION_LIMIT",
        parse.integer,
        "Organizations one person may create (0: no limit).",
        default=5,
    )
    invitation_ttl: int = parse.setting(
        "IDP_INVITATION_TTL",
        parse.seconds,
        "Seconds an invitation to an organization stays valid.",
        default=7 * 86400,
    )
