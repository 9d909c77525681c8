"""GitHub: OAuth 2 without OpenID Connect, so no ID token and no discovery.

The documented flow ("Authorizing OAuth apps", web application flow): the browser goes to
`<base>/login/oauth/authorize` with state and a PKCE S256 challenge; the code is redeemed at
`<base>/login/oauth/access_token` (JSON when asked with `Accept: application/json`; errors
arrive as HTTP 200 with an `error` member); then `GET <api>/user` names the person (its
numeric `id` is the stable subject, the login can change) and `GET <api>/user/emails` lists
their addresses: only the primary one, and only when GitHub marks it verified, counts as
verified. `<base>` is https://github.com (API https://api.github.com) or a GitHub Enterprise
Server's URL (API `<base>/api/v3`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from idp.federation.asserted import Asserted
from idp.federation.upstream.errors import UNREACHABLE, UpstreamError
from idp.federation.upstream.oidc import (
    Finished,
    RelyingPartyConfig,
    Started,
    check_callback,
    pkce_pair,
    token_request,
)
from idp.federation.upstream.transport import Transport, TransportError

GITHUB = "https://github.com"
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def api_base(base: str) -> str:
    base = base.rstrip("/")
    return "https://api.github.com" if base == GITHUB else base + "/api/v3"


class GitHubClient:
    """The same two steps as `OidcRelyingParty` (`start`, `finish`) for GitHub."""

    def __init__(self, config: RelyingPartyConfig, transport: Transport) -> None:
        self.config = config
        self.transport = transport
        self.base = (config.issuer or GITHUB).rstrip("/")
        self.api = api_base(self.base)

    def start(
        self, redirect_uri: str, *, login_hint: str | None = None, reauthenticate: bool = False
    ) -> Started:
        """GitHub's authorize URL; it has no way to ask for the password again, so
        `reauthenticate` changes nothing here."""
        state = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        params = {
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "allow_signup": "true",
        }
        if login_hint:
            params["login"] = login_hint
        url = f"{self.base}/login/oauth/authorize?{urlencode(params)}"
        return Started(url, state, "", verifier, redirect_uri)

    def finish(self, started: Started, params: Mapping[str, str]) -> Finished:
        code = check_callback(started, params, None)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": started.redirect_uri,
            "code_verifier": started.code_verifier,
        }
        tokens = token_request(
            self.transport, f"{self.base}/login/oauth/access_token", form, self.config
        )
        access_token = str(tokens["access_token"])
        user = self._api("/user", access_token)
        if not isinstance(user, dict) or not isinstance(user.get("id"), int):
            raise UpstreamError("userinfo", UNREACHABLE, detail="no numeric id in /user")
        emails = self._api("/user/emails", access_token)
        return Finished(self.asserted(user, emails if isinstance(emails, list) else []), tokens)

    def asserted(self, user: Mapping[str, Any], emails: list[Any]) -> Asserted:
        primary = next(
            (e for e in emails if isinstance(e, dict) and e.get("primary") is True), None
        )
        verified = primary is not None and primary.get("verified") is True
        email = primary.get("email") if verified and primary is not None else None
        name = user.get(self.config.name_claim) or user.get("login")
        attributes = {k: [str(v)] for k, v in user.items() if isinstance(v, str | int | bool)}
        return Asserted(
            source=self.config.source,
            subject=str(user["id"]),
            email=str(email).strip().lower() if email else None,
            email_verified=verified,
            name=str(name) if name else None,
            attributes=attributes,
        )

    def _api(self, path: str, access_token: str) -> Any:
        headers = {**API_HEADERS, "Authorization": f"Bearer {access_token}"}
        try:
            answer = self.transport.get(self.api + path, headers)
        except TransportError as error:
            raise UpstreamError("userinfo", UNREACHABLE, detail=str(error)) from None
        if answer.status != 200:
            raise UpstreamError("userinfo", UNREACHABLE, detail=f"{path}: HTTP {answer.status}")
        return answer.body
