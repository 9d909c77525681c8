"""What grants and endpoints reach through `self.server`: the app-lifetime objects the
authorization server (idp.oauth.server) is built with. A Protocol, so that grants name the
type without importing the server that registers them."""

from __future__ import annotations

from typing import Protocol

from idp.core.store import Store
from idp.oauth.tokens import TokenService
from idp.settings import Settings


class ServerParts(Protocol):
    issuer: str
    settings: Settings
    tokens: TokenService
    store: Store
