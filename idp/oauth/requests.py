"""The authorization request as Authlib sees it, rebuilt from the parameters we saved.

A request that waited for the user (idp.oauth.interaction) is validated again when it resumes:
`AuthorizationRequest` is Authlib's `OAuth2Request` built straight from those parameters, with
no HTTP request behind it. Once the user is known it carries `sign_in`, how they signed in,
which the code grant saves with the code (idp.oauth.grants). The flow itself is
idp.oauth.authorize.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from werkzeug.datastructures import MultiDict


@dataclass(frozen=True)
class SignInContext:
    """How the user signed in, for the code and the tokens it becomes."""

    session_id: int
    auth_time: datetime
    amr: tuple[str, ...]  # RFC 8176
    acr: str  # OpenID Connect Core §2, from idp.oauth.acr
    claims: dict[str, list[str]]  # what the `claims` parameter asks, by target (Core §5.5)
    resources: tuple[str, ...]  # RFC 8707, checked before the user saw anything
    organization_id: int | None = None  # chosen for the `organization` scope


class SavedPayload(OAuth2Payload):
    """Request parameters from a list of pairs; a repeated name keeps every value."""

    def __init__(self, params: list[tuple[str, str]]) -> None:
        self._data: MultiDict[str, str] = MultiDict(params)
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in params:
            self._datalist[name].append(value)

    @property
    def data(self) -> MultiDict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class AuthorizationRequest(OAuth2Request):  # type: ignore[misc]
    """A GET to the authorization endpoint with `params` as its query."""

    def __init__(self, issuer: str, params: list[tuple[str, str]]) -> None:
        super().__init__("GET", f"{issuer}/authorize?{urlencode(params)}")
        self.payload = SavedPayload(params)
        self.sign_in: SignInContext | None = None  # set once the user may have a code

    @property
    def args(self) -> MultiDict[str, str]:
        return self.payload.data

    @property
    def form(self) -> MultiDict[str, str]:
        return MultiDict()
