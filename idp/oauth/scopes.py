"""Scopes we support, what each means in plain words, and the claims each releases.

OpenID Connect Core §5.4 (scope values) and §5.1 (standard claims).
"""

from __future__ import annotations

from typing import Any

from idp.identity.models import User

SUPPORTED_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")

DESCRIPTIONS = {
    "openid": "Know who you are (a stable identifier for your account)",
    "profile": "See your name",
    "email": "See your email address",
    "address": "See your postal address",
    "phone": "See your phone number",
    "offline_access": "Stay connected when you are not using it",
}

CLAIMS_BY_SCOPE = {
    "profile": [
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ],
    "email": ["email", "email_verified"],
    "address": ["address"],
    "phone": ["phone_number", "phone_number_verified"],
}
SUPPORTED_CLAIMS = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    "at_hash",
    *[claim for claims in CLAIMS_BY_SCOPE.values() for claim in claims],
]


def subject(user: User) -> str:
    """The `sub` claim: stable, never reassigned (OpenID Connect Core §2)."""
    return str(user.id)


def user_claims(
    user: User, scopes: list[str], requested: list[str] | None = None
) -> dict[str, Any]:
    """Claims the granted scopes allow, plus individually requested ones (Core §5.5)."""
    available: dict[str, Any] = {
        "name": user.name,
        "updated_at": int(user.updated_at.timestamp()),
        "email": user.email,
        "email_verified": False,
    }
    allowed = {claim for scope in scopes for claim in CLAIMS_BY_SCOPE.get(scope, [])}
    allowed.update(requested or [])
    claims: dict[str, Any] = {"sub": subject(user)}
    claims.update({k: v for k, v in available.items() if k in allowed})
    return claims
