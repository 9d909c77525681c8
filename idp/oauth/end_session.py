"""OpenID Connect RP-Initiated Logout 1.0: what an end-session request may ask, checked.

- `validate` checks id_token_hint, client_id and post_logout_redirect_uri (§2, §3). `ui_locales`
  and `logout_hint` are accepted and change nothing: the pages are English only, and the
  session that ends is always this browser's.
- A valid hint shows which user the app means; a request whose hint names the signed-in user
  may sign out at once, any other needs the user's confirmation (§2, §6). That decision, the
  pages and the signing out are the web layer's (idp.web.logout).
- We return to the app only at a post_logout_redirect_uri that the app named by the hint or
  client_id registered, exactly, and only when nothing in the request failed validation
  (§3, §4). Otherwise the user stays on our page, told why.

Authlib's `authlib.oidc.rpinitiated.EndSessionEndpoint` is not used: it refuses a request
whose id_token_hint fails to verify, where we (§4: the hint is then not used) still sign the
user out after confirmation, only without returning to the app; and it would own the response,
which here depends on the browser's session and the confirmation page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.oauth2.rfc6749.errors import InvalidRequestError

from idp.oauth.clients import find_client
from idp.oauth.models import Client
from idp.oauth.tokens import TokenService

PARAMETERS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
)


@dataclass
class LogoutRequest:
    """A validated logout request; `params` travel through the confirmation form as they came."""

    params: dict[str, str]
    hinted_subject: str | None
    client: Client | None
    redirect_to: str | None
    notice: str | None  # why we will not return to the app, for the user


def validate(tokens: TokenService, source: Mapping[str, str]) -> LogoutRequest:
    """§2, §3: the request checked; an error here is shown to the user, never redirected."""
    params = parameters(source)
    hint = params.get("id_token_hint")
    claims = _hint_claims(tokens, hint) if hint else None
    client = _client(params.get("client_id"), claims)
    redirect_to, notice = _return_address(params, client, hint_failed=bool(hint) and not claims)
    hinted = str(claims["sub"]) if claims else None
    return LogoutRequest(params, hinted, client, redirect_to, notice)


def parameters(source: Mapping[str, str]) -> dict[str, str]:
    return {name: str(source[name]) for name in PARAMETERS if source.get(name)}


def _hint_claims(tokens: TokenService, hint: str) -> dict[str, Any] | None:
    """§2: the OP MUST validate that it was the issuer of the ID Token; an expired one is fine.

    An access token is signed by the same keys, so `typ` tells them apart. A hint that fails
    is not used at all (§4), which leaves the request unproven: the user confirms.
    """
    claims = tokens.verify(hint, typ="JWT", allow_expired=True)
    if claims is None or not isinstance(claims.get("aud"), str) or not claims.get("sub"):
        return None
    return claims


def _client(client_id: str | None, claims: dict[str, Any] | None) -> Client | None:
    if client_id is None:
        return find_client(claims["aud"]) if claims else None
    client = find_client(client_id)
    if client is None:
        raise InvalidRequestError("client_id names no registered application.")
    if claims is not None and claims["aud"] != client_id:
        # §2: when both are present, client_id MUST be the audience of the ID Token.
        raise InvalidRequestError("client_id is not the audience of id_token_hint.")
    return client


def _return_address(
    params: dict[str, str], client: Client | None, *, hint_failed: bool
) -> tuple[str | None, str | None]:
    """Where to send the user afterwards (None: our own page), and if not there, why not."""
    uri = params.get("post_logout_redirect_uri")
    if uri is None:
        return None, None
    if hint_failed:
        # §4: after an error in the request, the OP MUST NOT redirect to the RP.
        return None, "The app's sign-out request could not be verified, so you stay here."
    if client is None:
        return None, "The sign-out request did not say which app sent it, so you stay here."
    if uri not in client.post_logout_redirect_uris:
        # §3: only an exact match of a registered post_logout_redirect_uri.
        return None, f"{client.name} asked to send you to an address it has not registered."
    state = params.get("state")
    if state is None:
        return uri, None
    # §3: the OP MUST include the state value if the RP's request included one.
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("state", state)]
    return urlunsplit(parts._replace(query=urlencode(query))), None
