"""Tables of enterprise SSO: connections, domains, sessions started through SSO, used assertions.

A domain is unique among *verified* domains: `verified_domain` holds the domain once verified
and is NULL before, and a unique key on it settles two organizations verifying the same domain
at once. Several organizations may claim (not verify) one domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Model, UTCDateTime, utcnow


class SsoConnection(Model):
    __tablename__ = "sso_connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # "saml" | "oidc"
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    # SAML: idp_entity_id, sso_url, certificates; OIDC: issuer, client_id, sealed_secret.
    # Both: role_attribute, role_map ({upstream value: organization role}).
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    default_role: Mapped[str] = mapped_column(String(64), default="member")
    # Password and email sign-in refused for the connection's domains.
    required: Mapped[bool] = mapped_column(default=False)
    allow_idp_initiated: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SsoDomain(Model):
    __tablename__ = "sso_domain"
    __table_args__ = (UniqueConstraint("organization_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("sso_connection.id", ondelete="SET NULL"), index=True
    )
    domain: Mapped[str] = mapped_column(String(253))
    verified_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    # Published in DNS as `_idp-challenge.<domain>` TXT: not a secret.
    token: Mapped[str] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(8))  # "dns" | "operator"
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SamlAssertionUse(Model):
    """An assertion already used (core §2.3.3 ID; profiles §4.1.4.5: used once), kept until
    it would have expired anyway."""

    __tablename__ = "saml_assertion_use"
    __table_args__ = (UniqueConstraint("issuer", "assertion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(1024))
    assertion_id: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
