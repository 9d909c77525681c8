"""Small helpers shared by the HTTP-level tests: reading Set-Cookie headers and audit events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from flask import Flask
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db


@dataclass(frozen=True)
class SetCookie:
    """One Set-Cookie header: its name, value and attributes (names lower-cased)."""

    name: str
    value: str
    attributes: dict[str, str] = field(default_factory=dict)

    def has(self, attribute: str) -> bool:
        return attribute.lower() in self.attributes

    def get(self, attribute: str) -> str | None:
        return self.attributes.get(attribute.lower())

    @property
    def clears(self) -> bool:
        """The header tells the browser to drop the cookie (RFC 6265bis §5.6 steps 3.4/3.5)."""
        if self.get("max-age") is not None and int(self.get("max-age") or "1") <= 0:
            return True
        expires = self.get("expires")
        return expires is not None and parsedate_to_datetime(expires) < datetime.now(UTC)


def set_cookies(response: requests.Response) -> dict[str, SetCookie]:
    """Every Set-Cookie header of a response, by cookie name (requests merges them otherwise)."""
    found: dict[str, SetCookie] = {}
    for header in response.raw.headers.getlist("Set-Cookie"):
        pair, *parts = header.split(";")
        name, _, value = pair.strip().partition("=")
        attributes = {}
        for part in parts:
            key, _, attr_value = part.strip().partition("=")
            attributes[key.lower()] = attr_value
        found[name] = SetCookie(name, value, attributes)
    return found


def audit_events(app: Flask) -> list[str]:
    """The names of every audit event so far, oldest first."""
    with app.app_context():
        return [e.event for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
