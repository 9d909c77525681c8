"""From an upstream's checked statement to a local account, its membership and its session's
organization.

Which account: the one already linked to the connection's subject (`FederatedIdentity`,
source `sso:<connection id>`); else the account with the asserted email, linked now
(`account_linked`); else a new account (just in time). An email is used only when it is of a
domain verified for this organization and linked to this connection: the organization proved
it controls that domain (and so its mailboxes, which could reset any password there), so its
IdP may speak for those addresses and no other. An assertion for another domain's address is
refused (`email_domain`), whatever it says.

Membership: a new member gets the connection's default role; when the connection maps an
attribute (groups, roles) to organization roles, the first mapped value sets the role on
every sign-in (an owner stays owner).

Isolation: the session remembers the connection it came through (`SsoSession`), and
`check_organization()` refuses an organization that requires SSO unless the session came
through that organization's own connection, and any other organization to a session that came
through SSO.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db, utcnow
from idp.errors import IdpError
from idp.federation.asserted import Asserted
from idp.federation.models import FederatedIdentity
from idp.federation.sso.domains import vouches_for
from idp.federation.sso.models import SamlAssertionUse, SsoConnection
from idp.identity import members, organizations, users
from idp.identity.models import User
from idp.identity.organization_models import Membership, Organization, SsoSession
from idp.identity.permissions import OWNER
from idp.identity.users import find_by_email

EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "emailAddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
)
NAME_ATTRIBUTES = ("displayName", "name", "cn", "urn:oid:2.16.840.1.113730.3.1.241")


class SsoRefused(IdpError):
    """A federated sign-in refused; `reason` goes to the audit log."""

    code = "sso_refused"
    status = 403

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Conflict(Exception):
    """Another request created the same account, link or membership a moment ago."""


class SsoRequired(IdpError):
    """The organization must be reached through its own SSO sign-in."""

    code = "sso_required"
    status = 403

    def __init__(self, message: str, connection_id: int) -> None:
        super().__init__(message)
        self.connection_id = connection_id


def source_of(connection: SsoConnection) -> str:
    return f"sso:{connection.id}"


def use_assertion_once(issuer: str, assertion_id: str, expires_at: object) -> None:
    """Profiles §4.1.4.5: keep the assertion's ID until it expires; a second use is refused.
    Flushed, not committed: it is kept with the sign-in it allowed, or not at all."""
    db.session.execute(delete(SamlAssertionUse).where(SamlAssertionUse.expires_at < utcnow()))
    db.session.add(
        SamlAssertionUse(issuer=issuer, assertion_id=assertion_id, expires_at=expires_at)
    )
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise SsoRefused("replay", "This sign-in response was already used.") from None


def account_for(connection: SsoConnection, asserted: Asserted) -> User:
    """The account the statement signs in (found, linked or created), a member of the
    connection's organization with its mapped role. Commits."""
    link = db.session.scalar(
        select(FederatedIdentity).where(
            FederatedIdentity.source == asserted.source,
            FederatedIdentity.subject == asserted.subject,
        )
    )
    user = db.session.get(User, link.user_id) if link is not None else None
    if link is None or user is None:
        user = _by_email(connection, asserted)
        link = FederatedIdentity(user_id=user.id, source=asserted.source, subject=asserted.subject)
        db.session.add(link)
        record(Event.ACCOUNT_LINKED, user_id=user.id, subject=user.email, source=asserted.source)
    link.email, link.last_used_at = asserted.email, utcnow()
    try:
        _membership(connection, user, asserted)  # its query flushes the link
        db.session.commit()
    except IntegrityError:  # the same first sign-in twice at once
        db.session.rollback()
        raise Conflict from None
    return user


def refuse(
    connection: SsoConnection | None, reason: str, message: str, detail: str = ""
) -> SsoRefused:
    """Audit a failed federated sign-in (`detail`: what the audit log alone shows); the
    refusal to raise."""
    db.session.rollback()
    extra: dict[str, Any] = {"why": detail} if detail else {}
    record(
        Event.FEDERATED_SIGN_IN_FAILED,
        reason=reason,
        connection=connection.id if connection else None,
        organization=connection.organization_id if connection else None,
        **extra,
    )
    db.session.commit()
    return SsoRefused(reason, message)


def signed_in(connection: SsoConnection, user: User, session_id: int | None) -> None:
    """Audit the sign-in and remember, on the session, the connection it came through."""
    record(
        Event.FEDERATED_SIGN_IN,
        user_id=user.id,
        subject=user.email,
        source=source_of(connection),
        connection=connection.id,
        organization=connection.organization_id,
    )
    if session_id is not None:
        db.session.merge(
            SsoSession(
                session_id=session_id,
                connection_id=connection.id,
                organization_id=connection.organization_id,
            )
        )
    db.session.commit()


def check_organization(
    session_id: int, organization_id: int, *, enforce_required: bool = True
) -> None:
    """`SsoRequired` when this session may not act for the organization
    (`organizations.sso_refusal`), naming the connection to sign in through again."""
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        return
    refusal = organizations.sso_refusal(session_id, organization, enforce_required=enforce_required)
    if refusal is None:
        return
    required = db.session.scalar(
        select(SsoConnection.id).where(
            SsoConnection.organization_id == organization_id,
            SsoConnection.required.is_(True),
            SsoConnection.enabled.is_(True),
        )
    )
    raise SsoRequired(refusal, required or 0)


def asserted_email(
    attributes: dict[str, list[str]], subject: str, name_format: str | None
) -> str | None:
    for name in EMAIL_ATTRIBUTES:
        values = [v for v in attributes.get(name, []) if v]
        if values:
            return values[0].strip().lower()
    if name_format and name_format.endswith("emailAddress") and "@" in subject:
        return subject.strip().lower()
    return None


def asserted_name(attributes: dict[str, list[str]]) -> str | None:
    for name in NAME_ATTRIBUTES:
        values = [v for v in attributes.get(name, []) if v]
        if values:
            return values[0]
    return None


def _by_email(connection: SsoConnection, asserted: Asserted) -> User:
    email = asserted.email
    if not email or not vouches_for(connection, email):
        raise SsoRefused(
            "email_domain",
            "The identity provider asserted an email address outside the organization's "
            "verified domains.",
        )
    existing = find_by_email(email)
    if existing is not None:
        return existing
    name = users.clean_name((asserted.name or email.partition("@")[0])[:200])
    user = User(email=email, name=name, password_hash=None, email_verified_at=utcnow())
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict from None
    record(Event.SIGN_UP, user_id=user.id, subject=email, source=asserted.source)
    return user


def _membership(connection: SsoConnection, user: User, asserted: Asserted) -> None:
    mapped = _mapped_role(connection, asserted.attributes)
    current = members.find(connection.organization_id, user.id)
    detail = {"organization": connection.organization_id, "source": asserted.source}
    if current is None:
        role = mapped or connection.default_role
        db.session.add(
            Membership(organization_id=connection.organization_id, user_id=user.id, role=role)
        )
        record(Event.MEMBER_ADDED, user_id=user.id, subject=user.email, role=role, **detail)
    elif mapped and current.role not in (OWNER, mapped):
        current.role = mapped
        record(
            Event.MEMBER_ROLE_CHANGED, user_id=user.id, subject=user.email, role=mapped, **detail
        )


def _mapped_role(connection: SsoConnection, attributes: dict[str, list[str]]) -> str | None:
    attribute = connection.config.get("role_attribute") or ""
    role_map: dict[str, str] = connection.config.get("role_map") or {}
    for value in attributes.get(attribute, []) if attribute else []:
        if value in role_map:
            return role_map[value]
    return None
