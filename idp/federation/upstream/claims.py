"""What an ID token or a UserInfo answer says, checked and turned into an `Asserted`.

OpenID Connect Core §3.1.3.7 (the ID token's claims: iss, aud, azp, exp, iat, sub) and §5.1
(standard claims: email, email_verified, name, given_name, family_name). The signature and the
nonce are checked by the relying party (oidc.py) before these.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from idp.federation.asserted import Asserted
from idp.federation.upstream.errors import UpstreamError

LEEWAY = 60  # seconds of clock difference tolerated on exp and iat


def check_id_token_claims(claims: Mapping[str, Any], issuer: str, client_id: str) -> None:
    """OIDC Core §3.1.3.7 steps 2-3 and 9-10: iss, aud, azp, exp, iat, sub."""
    now = time.time()
    if claims.get("iss") != issuer:
        raise UpstreamError("id_token_iss", "The ID token comes from another provider.")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise UpstreamError("id_token_aud", "The ID token was issued to another application.")
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise UpstreamError("id_token_azp", "The ID token was issued to another application.")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + LEEWAY <= now:
        raise UpstreamError("id_token_expired", "The ID token has expired. Start again.")
    if not isinstance(iat, int | float) or iat - LEEWAY > now:
        raise UpstreamError("id_token_iat", "The ID token is dated in the future.")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise UpstreamError("id_token_sub", "The ID token names nobody.")


def asserted_from_claims(
    source: str, claims: Mapping[str, Any], name_claim: str = "name", email_claim: str = "email"
) -> Asserted:
    """OIDC Core §5.1 claims as an `Asserted`: email verified only when `email_verified` is
    true (a JSON true, or the string some providers send)."""
    email = claims.get(email_claim)
    name = claims.get(name_claim)
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p) or None
    verified = claims.get("email_verified")
    return Asserted(
        source=source,
        subject=str(claims["sub"]),
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        email_verified=verified is True or verified == "true",
        name=name,
        attributes={k: _strings(v) for k, v in claims.items()},
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]
