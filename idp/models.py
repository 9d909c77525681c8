"""Every model, imported in one place so Alembic and the tests see the whole schema."""

from idp.core.audit import AuditEvent
from idp.identity.models import LoginSession, User
from idp.identity.one_time import OneTimeToken
from idp.oauth.models import AuthorizationCode, Client, Consent, RefreshToken, TokenFamily

__all__ = [
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Consent",
    "LoginSession",
    "OneTimeToken",
    "RefreshToken",
    "TokenFamily",
    "User",
]
