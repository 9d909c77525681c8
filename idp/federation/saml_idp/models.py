"""The service providers registered with the SAML identity provider.

Endpoints and certificates come from the SP's metadata (SAML metadata §2.4.4) and are kept as
JSON: assertion consumer services with their binding and index, one single logout endpoint,
and the certificates that verify its signed requests. An assertion goes only to a registered
consumer URL, never to one a request names otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Model, UTCDateTime, utcnow


class SamlServiceProvider(Model):
    __tablename__ = "saml_service_provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(1024), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # [{"binding": urn, "location": url, "index": int, "default": bool}, ...]
    acs_endpoints: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    slo_url: Mapped[str | None] = mapped_column(String(2000))
    slo_binding: Mapped[str | None] = mapped_column(String(100))
    # PEM certificates from the metadata's KeyDescriptor use="signing" (or no use).
    certificates: Mapped[list[str]] = mapped_column(JSON, default=list)
    authn_requests_signed: Mapped[bool] = mapped_column(default=False)
    want_assertions_signed: Mapped[bool] = mapped_column(default=True)
    name_id_format: Mapped[str] = mapped_column(String(20), default="email")
    attributes: Mapped[list[str]] = mapped_column(JSON, default=list)
    allow_idp_initiated: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    metadata_url: Mapped[str | None] = mapped_column(String(2000))
    metadata_xml: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def acs(self, *, url: str | None = None, index: int | None = None) -> dict[str, Any] | None:
        """The registered consumer service a request names, or the default one (SAML core
        §3.4.1: by URL, by index, else the metadata's default); None if it names another."""
        for endpoint in self.acs_endpoints:
            if url is not None and endpoint["location"] == url:
                return endpoint
            if url is None and index is not None and endpoint["index"] == index:
                return endpoint
        if url is not None or index is not None:
            return None
        return next((e for e in self.acs_endpoints if e.get("default")), None) or next(
            iter(self.acs_endpoints), None
        )
