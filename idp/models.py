"""Every model, imported in one place so Alembic and the tests see the whole schema."""

from idp.core.audit import AuditEvent
from idp.identity.models import LoginSession, User

__all__ = ["AuditEvent", "LoginSession", "User"]
