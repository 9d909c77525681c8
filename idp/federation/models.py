"""The link from an upstream identity (a source and its subject) to a local account.

One person may have several (Google and an enterprise SAML connection); one upstream subject
is linked to at most one account. Upstream tokens are kept only when the upstream is set to
keep them, sealed with the provider's secret (never in clear).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Model, UTCDateTime, utcnow


class FederatedIdentity(Model):
    __tablename__ = "federated_identity"
    __table_args__ = (UniqueConstraint("source", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # An upstream provider's slug ("google", "acme-oidc") or "sso:<connection id>".
    source: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(255))
    # What the upstream said last, for the account page and the console.
    email: Mapped[str | None] = mapped_column(String(320))
    # Upstream tokens (JSON), sealed; None unless the upstream is set to keep them.
    sealed_tokens: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
