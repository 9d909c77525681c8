"""Scopes we support, what each means in plain words, and the claims each releases.

OpenID Connect Core §5.4 (scope values) and §5.1 (standard claims).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class ClaimsUser(Protocol):
    """What the claims are read from: a `User`, or the hot path's `UserClaims` row."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def email_verified_at(self) -> datetime | None: ...
    @property
    def updated_at(self) -> datetime: ...


# Only what the provider can fill: it keeps a name, an email address and whether that address
# was verified. It stores no postal address, phone number or other profile data, so it offers
# neither the `address` and `phone` scopes nor those claims (Discovery 1.0 §3).
SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access", "organization")

DESCRIPTIONS = {
    "openid": "Know who you are (a stable identifier for your account)",
    "profile": "See your name",
    "email": "See your email address and whether it is verified",
    "offline_access": "Stay connected when you are not using it",
    "organization": "Know which organization you chose, your role and permissions in it",
}

CLAIMS_BY_SCOPE = {
    "profile": ["name", "updated_at"],
    "email": ["email", "email_verified"],
}
# The `organization` scope's claims, about the organization chosen at consent: filled by
# idp.oauth.organizations from the membership, not by `user_claims`, and not asked for by name.
ORGANIZATION_CLAIMS = ["org_id", "org_slug", "org_name", "org_role", "org_permissions"]
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
    "sid",
    "at_hash",
    *[claim for claims in CLAIMS_BY_SCOPE.values() for claim in claims],
    *ORGANIZATION_CLAIMS,
]


def scope_of(claim: str) -> str | None:
    """The scope that releases `claim`; None for a claim no scope releases (such as `sub`)."""
    return next((scope for scope, claims in CLAIMS_BY_SCOPE.items() if claim in claims), None)


def subject(user: ClaimsUser) -> str:
    """The `sub` claim: stable, never reassigned (OpenID Connect Core §2)."""
    return str(user.id)


def user_claims(
    user: ClaimsUser, scopes: list[str], requested: list[str] | None = None
) -> dict[str, Any]:
    """Claims the granted scopes allow, plus individually requested ones (Core §5.5)."""
    available: dict[str, Any] = {
        "name": user.name,
        "updated_at": int(user.updated_at.timestamp()),
        "email": user.email,
        "email_verified": user.email_verified_at is not None,
    }
    allowed = {claim for scope in scopes for claim in CLAIMS_BY_SCOPE.get(scope, [])}
    allowed.update(requested or [])
    claims: dict[str, Any] = {"sub": subject(user)}
    claims.update({k: v for k, v in available.items() if k in allowed})
    return claims
