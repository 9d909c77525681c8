"""Settings of organizations: who may create them, how many each person may create, how
long an invitation stays valid, and their enterprise SSO (the DNS server that verifies claimed
domains, the clock skew allowed with identity providers). `Settings` inherits these fields."""

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
    sso_dns_resolver: str = parse.setting(
        "IDP_SSO_DNS_RESOLVER",
        parse.text,
        "The DNS server (`host` or `host:port`) asked for domain verification's TXT records; "
        "empty: the system's resolvers.",
        default="",
    )
    sso_clock_skew: int = parse.setting(
        "IDP_SSO_CLOCK_SKEW",
        parse.integer,
        "Seconds of clock difference allowed with an SSO identity provider when checking an "
        "assertion's validity window.",
        default=90,
    )
