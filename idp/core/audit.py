"""The audit log: one row per security event, written by `record`.

Who (the user, and the email typed for failed sign-ins), what (an event name from `Event`),
when, and where (IP and user agent). The row is added to the caller's transaction, so an event
is stored exactly when the change it describes is.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.core import metrics
from idp.db import Model, UTCDateTime, db, utcnow


class Event(enum.StrEnum):
    SIGN_UP = "sign_up"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    PASSWORD_CHECK_FAILED = "password_check_failed"  # noqa: S105 (an event name)
    SIGN_OUT = "sign_out"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an event name)
    PROFILE_CHANGED = "profile_changed"
    SESSION_REVOKED = "session_revoked"
    USER_CREATED = "user_created"
    KEY_ROTATED = "key_rotated"
    CLIENT_CREATED = "client_created"
    CLIENT_UPDATED = "client_updated"
    CLIENT_DELETED = "client_deleted"
    CLIENT_SECRET_ROTATED = "client_secret_rotated"  # noqa: S105 (an event name)
    CLIENT_DISABLED = "client_disabled"
    CLIENT_ENABLED = "client_enabled"
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"
    CONSENT_GRANTED = "consent_granted"
    CONSENT_REVOKED = "consent_revoked"
    REFRESH_TOKEN_REUSED = "refresh_token_reused"  # noqa: S105 (an event name)
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 (an event name)
    # Account security
    EMAIL_VERIFIED = "email_verified"
    SIGN_UP_EXISTING_EMAIL = "sign_up_existing_email"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105 (an event name)
    PASSWORD_RESET = "password_reset"  # noqa: S105 (an event name)
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    EMAIL_CHANGED = "email_changed"
    ACCOUNT_DELETED = "account_deleted"
    SIGN_IN_LINK_SENT = "sign_in_link_sent"
    SIGN_IN_CODE_SENT = "sign_in_code_sent"
    TWO_FACTOR_ENABLED = "two_factor_enabled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    BACKUP_CODES_GENERATED = "backup_codes_generated"
    BACKUP_CODE_USED = "backup_code_used"
    SECOND_FACTOR_FAILED = "second_factor_failed"
    TRUSTED_DEVICE_ADDED = "trusted_device_added"
    TRUSTED_DEVICE_REVOKED = "trusted_device_revoked"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_RENAMED = "passkey_renamed"
    PASSKEY_REMOVED = "passkey_removed"
    PASSKEY_FAILED = "passkey_failed"
    CREDENTIAL_LOCKED = "credential_locked"
    # Device authorization grant (RFC 8628)
    DEVICE_AUTHORIZED = "device_authorized"
    DEVICE_DENIED = "device_denied"
    # Resource indicators (RFC 8707)
    RESOURCE_CREATED = "resource_created"
    RESOURCE_DELETED = "resource_deleted"
    RESOURCE_UPDATED = "resource_updated"
    # The admin console (detail: `admin`, the acting admin's email)
    USER_BANNED = "user_banned"
    USER_UNBANNED = "user_unbanned"
    ROLE_CHANGED = "role_changed"
    IMPERSONATION_STARTED = "impersonation_started"
    IMPERSONATION_ENDED = "impersonation_ended"
    # Organizations, members, invitations, roles, teams
    ORGANIZATION_CREATED = "organization_created"
    ORGANIZATION_UPDATED = "organization_updated"
    ORGANIZATION_DELETED = "organization_deleted"
    ORGANIZATION_ROLE_CREATED = "organization_role_created"
    ORGANIZATION_ROLE_UPDATED = "organization_role_updated"
    ORGANIZATION_ROLE_DELETED = "organization_role_deleted"
    MEMBER_ADDED = "member_added"
    MEMBER_REMOVED = "member_removed"
    MEMBER_ROLE_CHANGED = "member_role_changed"
    MEMBER_LEFT = "member_left"
    INVITATION_SENT = "invitation_sent"
    INVITATION_ACCEPTED = "invitation_accepted"
    INVITATION_REJECTED = "invitation_rejected"
    INVITATION_CANCELLED = "invitation_cancelled"
    TEAM_CREATED = "team_created"
    TEAM_RENAMED = "team_renamed"
    TEAM_DELETED = "team_deleted"
    TEAM_MEMBER_ADDED = "team_member_added"
    TEAM_MEMBER_REMOVED = "team_member_removed"
    # Federation (detail: `source` or `connection`; failures carry the validation `reason`)
    FEDERATED_SIGN_IN = "federated_sign_in"
    FEDERATED_SIGN_IN_FAILED = "federated_sign_in_failed"
    ACCOUNT_LINKED = "account_linked"
    ACCOUNT_UNLINKED = "account_unlinked"
    UPSTREAM_PROVIDER_CREATED = "upstream_provider_created"
    UPSTREAM_PROVIDER_UPDATED = "upstream_provider_updated"
    UPSTREAM_PROVIDER_DELETED = "upstream_provider_deleted"
    SSO_CONNECTION_CREATED = "sso_connection_created"
    SSO_CONNECTION_UPDATED = "sso_connection_updated"
    SSO_CONNECTION_DELETED = "sso_connection_deleted"
    SSO_DOMAIN_CLAIMED = "sso_domain_claimed"
    SSO_DOMAIN_VERIFIED = "sso_domain_verified"
    SSO_DOMAIN_REMOVED = "sso_domain_removed"
    SAML_SERVICE_PROVIDER_CREATED = "saml_service_provider_created"
    SAML_SERVICE_PROVIDER_UPDATED = "saml_service_provider_updated"
    SAML_SERVICE_PROVIDER_DELETED = "saml_service_provider_deleted"
    SAML_ASSERTION_ISSUED = "saml_assertion_issued"
    SAML_REQUEST_REFUSED = "saml_request_refused"
    SAML_LOGOUT = "saml_logout"


class AuditEvent(Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str | None] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


_acting_admin: ContextVar[str | None] = ContextVar("idp_acting_admin", default=None)
# (IP, user agent) of a request served outside Flask's request context (idp.web.lean).
_origin: ContextVar[tuple[str | None, str]] = ContextVar("idp_origin", default=(None, ""))


@contextmanager
def acting_admin(email: str) -> Iterator[None]:
    """Every event recorded inside names `admin` (the acting admin's email): for an admin who
    acts through services written for members, such as an organization's."""
    token = _acting_admin.set(email)
    try:
        yield
    finally:
        _acting_admin.reset(token)


@contextmanager
def request_origin(ip: str | None, user_agent: str) -> Iterator[None]:
    """Every event recorded inside comes from `ip` with `user_agent`: for a request that
    Flask's request context does not describe."""
    token = _origin.set((ip, user_agent))
    try:
        yield
    finally:
        _origin.reset(token)


def record(
    event: Event, *, user_id: int | None = None, subject: str | None = None, **detail: Any
) -> AuditEvent:
    """Add an audit row to the current transaction; the caller commits."""
    admin = _acting_admin.get()
    if admin is not None:
        detail.setdefault("admin", admin)
    if has_request_context():
        ip, agent = request.remote_addr, request.user_agent.string
    else:
        ip, agent = _origin.get()
    user_agent = (agent or "")[:512] or None
    row = AuditEvent(
        event=event.value,
        user_id=user_id,
        subject=subject,
        ip=ip,
        user_agent=user_agent,
        detail=detail,
    )
    db.session.add(row)
    metrics.audited(row.event)
    return row
