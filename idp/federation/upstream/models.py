"""The upstream providers the operator configured: one row each, its client secret sealed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Model, UTCDateTime, utcnow


class UpstreamProvider(Model):
    __tablename__ = "upstream_provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    # In URLs (/sign-in/with/<slug>) and in FederatedIdentity.source; never changes.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    # A preset's name (google, microsoft, gitlab, github) or "oidc".
    kind: Mapped[str] = mapped_column(String(20))
    # Issuer or discovery URL; GitHub's or GitLab's base URL; Microsoft's tenant. None: the
    # preset's own.
    issuer: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    # Sealed with idp.keys.sealing under its own info, labelled with the slug.
    sealed_client_secret: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # An email the provider asserts verified may link to the account that has it.
    trusted_for_linking: Mapped[bool] = mapped_column(default=False)
    keep_tokens: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Which claim gives what, e.g. {"name": "preferred_username"}.
    attribute_mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
