"""Authentication context classes: the `acr` an ID token carries and the `acr_values` an app
may ask for (OpenID Connect Core §2, §3.1.2.1, §5.5.1.1).

Two levels, from how the session signed in (its RFC 8176 `amr`):
- "1": one factor (a password, a magic link or emailed code, a passkey without user
  verification);
- "2": two or more factors (password and a code, or a passkey with user verification).
An app asking for "2", or for the OpenID PAPE multi-factor policy URI, makes a single-factor
session step up: the user proves a second factor, and the session keeps it.
"""

from __future__ import annotations

from typing import Any

from idp.core.inputs import load_json

SINGLE_FACTOR = "1"
MULTI_FACTOR = "2"
PAPE_MULTI_FACTOR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
SUPPORTED = [SINGLE_FACTOR, MULTI_FACTOR, PAPE_MULTI_FACTOR]
NEEDS_MFA = {MULTI_FACTOR, PAPE_MULTI_FACTOR}


def requested(acr_values: str | None, claims: str | None) -> list[str]:
    """The acr values the app asked for, in its order of preference, that we know.

    From `acr_values` (voluntary) and from the `claims` parameter's `acr` member (§5.5.1.1:
    `value` or `values`). Values we do not know are left out: asking only for those is the
    same as asking for nothing.
    """
    values = (acr_values or "").split()
    member = _acr_member(claims)
    if isinstance(member.get("value"), str):
        values.append(member["value"])
    if isinstance(member.get("values"), list):
        values.extend(v for v in member["values"] if isinstance(v, str))
    return [v for v in dict.fromkeys(values) if v in SUPPORTED]


def needs_step_up(values: list[str], amr: list[str] | tuple[str, ...]) -> bool:
    """Whether the session must add a factor: every value asked for needs more than one."""
    return bool(values) and all(v in NEEDS_MFA for v in values) and "mfa" not in amr


def achieved(values: list[str], amr: list[str] | tuple[str, ...]) -> str:
    """The `acr` for the ID token: the first value asked for that the session meets, else
    the session's own level."""
    level = MULTI_FACTOR if "mfa" in amr else SINGLE_FACTOR
    for value in values:
        if value == SINGLE_FACTOR or (value in NEEDS_MFA and level == MULTI_FACTOR):
            return value
    return level


def _acr_member(claims: str | None) -> dict[str, Any]:
    if not claims:
        return {}
    try:
        data = load_json(claims)
    except ValueError:
        return {}  # `requested_claims` reports the malformed parameter
    member = data.get("id_token", {}).get("acr") if isinstance(data, dict) else None
    if not isinstance(member, dict):
        return {}
    return member
