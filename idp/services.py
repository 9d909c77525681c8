"""The app's long-lived collaborators, built once by `create_app` from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from idp.core.store import Store
from idp.identity.sessions import SessionService
from idp.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    sessions: SessionService


def services() -> Services:
    """The services of the current app."""
    value: Services = current_app.extensions["idp"]
    return value
