"""Organizations and what hangs on them: memberships, custom roles, invitations, teams, and
the organization (and team) a browser session has made active.

Only the tables live here; the rules are in `organizations.py`, `members.py`,
`invitations.py`, `permissions.py` and `teams.py`. A role is stored by name on the
membership: a built-in one (`owner`, `admin`, `member`) or a custom role of the organization.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.db import Model, UTCDateTime, utcnow
from idp.identity.models import User


class Organization(Model):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    logo_url: Mapped[str | None] = mapped_column(String(2000))
    # Policy: members must have a second factor (TOTP or a passkey) to reach its apps.
    require_two_factor: Mapped[bool] = mapped_column(default=False)
    # Policy: members reach it only through its single sign-on (kept by idp.federation.sso
    # from its connections: one enabled and required).
    sso_required: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Membership(Model):
    __tablename__ = "organization_member"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    user: Mapped[User] = relationship()


class OrganizationRole(Model):
    """A custom role: a name and its permission statements (resource -> actions)."""

    __tablename__ = "organization_role"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    statements: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invitation(Model):
    """An invitation by email; the link's secret is stored only as its SHA-256 digest."""

    __tablename__ = "organization_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()


class Team(Model):
    __tablename__ = "organization_team"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMember(Model):
    __tablename__ = "organization_team_member"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("organization_team.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship()


class ActiveOrganization(Model):
    """The organization (and team) a sign-in session has made active; gone with the session."""

    __tablename__ = "session_organization"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("login_session.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization_team.id", ondelete="SET NULL")
    )


class SsoSession(Model):
    """The organization whose single sign-on (its connection) started this sign-in session;
    none: another way. Federation writes it (idp.federation.sso); here it bounds what the
    session may do (`organizations.sso_refusal`): such a session acts for that organization
    only. The connection is named by its table: its model is federation's."""

    __tablename__ = "sso_session"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("login_session.id", ondelete="CASCADE"), primary_key=True
    )
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("sso_connection.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
