"""The app's long-lived collaborators, built once by `create_app` from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from idp.core.store import Store
from idp.identity.sessions import SessionService
from idp.keys import KeyStore
from idp.mail import Mailer
from idp.oauth.server import Server
from idp.oauth.tokens import TokenService
from idp.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    sessions: SessionService
    keys: KeyStore
    tokens: TokenService
    oauth: Server
    discovery: bytes  # the metadata document, serialised once
    mailer: Mailer


def services() -> Services:
    """The services of the current app."""
    value: Services = current_app.extensions["idp"]
    return value
