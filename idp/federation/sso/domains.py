"""Email domains an organization claims for its SSO, their verification, home-realm discovery.

An admin claims a domain and links it to a connection; it counts only once verified, by a DNS
TXT record `_idp-challenge.<domain>` holding the claim's token, or by an operator's approval
(the console). A domain is verified for one organization at most: `verified_domain` is unique,
so two organizations verifying it at once leave one winner and a clear refusal.
"""

from __future__ import annotations

import secrets
from typing import Any

import dns.exception
import dns.resolver
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db, utcnow
from idp.errors import IdpError, InvalidInput
from idp.federation.sso.connections import find as find_connection
from idp.federation.sso.models import SsoConnection, SsoDomain
from idp.identity.actors import Actor
from idp.identity.permissions import Acting, require
from idp.settings import app_settings

CHALLENGE = "_idp-challenge"
SSO_REQUIRED = (
    "Your organization signs you in with single sign-on, not a password or an email code. "
    "Continue with single sign-on."
)
DNS_TIMEOUT = 3.0


class DomainTaken(InvalidInput):
    code = "domain_taken"


class NotVerified(IdpError):
    code = "not_verified"
    status = 400


def clean_domain(raw: str) -> str:
    domain = raw.strip().lower().rstrip(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = ""
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > 253 or not all(_label(x) for x in labels):
        raise InvalidInput("Give a domain name such as example.com.", field="domain")
    return ascii_domain


def _label(label: str) -> bool:
    ok = label.replace("-", "").isalnum() and label.isascii()
    return ok and 0 < len(label) <= 63 and not label.startswith("-") and not label.endswith("-")


def of_organization(organization_id: int) -> list[SsoDomain]:
    query = select(SsoDomain).where(SsoDomain.organization_id == organization_id)
    return list(db.session.scalars(query.order_by(SsoDomain.domain)))


def claim(actor: Actor, membership: Acting | None, raw: str, connection_id: int) -> SsoDomain:
    member = require(membership, "organization", "update")
    domain = clean_domain(raw)
    find_connection(member.organization_id, connection_id)
    if _verified(domain) is not None:
        raise DomainTaken(f"{domain} is already verified by another organization.", field="domain")
    row = SsoDomain(
        organization_id=member.organization_id,
        connection_id=connection_id,
        domain=domain,
        token=secrets.token_urlsafe(24),
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # the same claim sent twice at once
        db.session.rollback()
        raise DomainTaken(f"{domain} is already claimed here.", field="domain") from None
    record(Event.SSO_DOMAIN_CLAIMED, user_id=actor.id, **_detail(row))
    db.session.commit()
    return row


def verify_by_dns(actor: Actor, membership: Acting | None, domain_id: int) -> SsoDomain:
    member = require(membership, "organization", "update")
    row = _find(member.organization_id, domain_id)
    if row.verified_at is None:
        if row.token not in txt_records(f"{CHALLENGE}.{row.domain}"):
            raise NotVerified(
                f"No TXT record {CHALLENGE}.{row.domain} holding the token was found. "
                "DNS changes can take a while to appear; try again later."
            )
        _mark_verified(actor, row, "dns")
    return row


def approve(actor: Actor, domain_id: int) -> SsoDomain:
    """An operator (site administrator) vouches for the domain; the caller checked who."""
    row = db.session.get(SsoDomain, domain_id)
    if row is None:
        raise NotVerified("There is no such domain claim.")
    if row.verified_at is None:
        _mark_verified(actor, row, "operator")
    return row


def remove(actor: Actor, membership: Acting | None, domain_id: int) -> None:
    member = require(membership, "organization", "update")
    row = _find(member.organization_id, domain_id)
    record(Event.SSO_DOMAIN_REMOVED, user_id=actor.id, **_detail(row))
    db.session.delete(row)
    db.session.commit()


def pending() -> list[SsoDomain]:
    """Claims waiting for verification, for the operator's console."""
    query = select(SsoDomain).where(SsoDomain.verified_at.is_(None))
    return list(db.session.scalars(query.order_by(SsoDomain.created_at)))


def connection_for_email(email: str) -> SsoConnection | None:
    """Home-realm discovery: the enabled connection (SAML or OpenID Connect) of the verified
    domain of `email`."""
    domain = email.rpartition("@")[2].strip().lower()
    row = _verified(domain) if domain else None
    if row is None or row.connection_id is None:
        return None
    connection = db.session.get(SsoConnection, row.connection_id)
    if connection is None or not connection.enabled:
        return None
    return connection


def vouches_for(connection: SsoConnection, email: str) -> bool:
    """Whether `email` is of a domain verified for the connection's organization and linked to
    this connection: only then may the connection's assertions speak for that address."""
    row = _verified(email.rpartition("@")[2].lower())
    return row is not None and row.connection_id == connection.id


def txt_records(name: str) -> set[str]:
    """The strings of `name`'s TXT records ({} when there are none or DNS fails)."""
    resolver = dns.resolver.Resolver(configure=not app_settings().sso_dns_resolver)
    host, _, port = app_settings().sso_dns_resolver.partition(":")
    if host:
        resolver.nameservers = [host]
        resolver.port = int(port or 53)
    try:
        answer = resolver.resolve(name, "TXT", lifetime=DNS_TIMEOUT)
    except (dns.exception.DNSException, OSError):
        return set()
    return {b"".join(r.strings).decode("utf-8", "replace") for r in answer}


def _mark_verified(actor: Actor, row: SsoDomain, method: str) -> None:
    row.verified_domain, row.verified_at, row.method = row.domain, utcnow(), method
    try:
        db.session.flush()
    except IntegrityError:  # another organization verified it a moment ago
        db.session.rollback()
        raise DomainTaken(
            f"{row.domain} is already verified by another organization.", field="domain"
        ) from None
    record(Event.SSO_DOMAIN_VERIFIED, user_id=actor.id, method=method, **_detail(row))
    db.session.commit()


# Built once: every password sign-in asks it (home-realm discovery).
_VERIFIED = select(SsoDomain).where(SsoDomain.verified_domain == bindparam("domain"))


def _verified(domain: str) -> SsoDomain | None:
    return db.session.scalar(_VERIFIED, {"domain": domain})


def _find(organization_id: int, domain_id: int) -> SsoDomain:
    row = db.session.get(SsoDomain, domain_id)
    if row is None or row.organization_id != organization_id:
        raise NotVerified("There is no such domain in this organization.")
    return row


def _detail(row: SsoDomain) -> dict[str, Any]:
    return {
        "organization": row.organization_id,
        "domain": row.domain,
        "connection": row.connection_id,
    }
