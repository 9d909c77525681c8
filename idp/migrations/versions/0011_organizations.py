"""Organizations: members, custom roles, invitations, teams, the active organization of a
session; the organization of codes and token families, clients restricted to organizations and
consent per organization.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("logo_url", sa.String(length=2000), nullable=True),
        sa.Column("require_two_factor", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user.id"],
            name=op.f("fk_organization_created_by_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("slug", name=op.f("uq_organization_slug")),
    )
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_created_by"), ["created_by"], unique=False
        )

    op.create_table(
        "oauth_client_organization",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_client.id"],
            name=op.f("fk_oauth_client_organization_client_id_oauth_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_oauth_client_organization_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "client_id", "organization_id", name=op.f("pk_oauth_client_organization")
        ),
    )
    op.create_table(
        "oauth_organization_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_client.id"],
            name=op.f("fk_oauth_organization_consent_client_id_oauth_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_oauth_organization_consent_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_oauth_organization_consent_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_organization_consent")),
        sa.UniqueConstraint(
            "user_id",
            "client_id",
            "organization_id",
            name=op.f("uq_oauth_organization_consent_user_id"),
        ),
    )
    with op.batch_alter_table("oauth_organization_consent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth_organization_consent_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth_organization_consent_organization_id"),
            ["organization_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_oauth_organization_consent_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "organization_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["user.id"],
            name=op.f("fk_organization_invitation_invited_by_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_organization_invitation_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_invitation")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_organization_invitation_secret_hash")),
    )
    with op.batch_alter_table("organization_invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_invitation_email"), ["email"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organization_invitation_organization_id"),
            ["organization_id"],
            unique=False,
        )

    op.create_table(
        "organization_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_organization_member_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_organization_member_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_member")),
        sa.UniqueConstraint(
            "organization_id", "user_id", name=op.f("uq_organization_member_organization_id")
        ),
    )
    with op.batch_alter_table("organization_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_member_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organization_member_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "organization_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("statements", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_organization_role_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_role")),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_organization_role_organization_id")
        ),
    )
    with op.batch_alter_table("organization_role", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_role_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "organization_team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_organization_team_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_team")),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_organization_team_organization_id")
        ),
    )
    with op.batch_alter_table("organization_team", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_team_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "organization_team_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["organization_team.id"],
            name=op.f("fk_organization_team_member_team_id_organization_team"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_organization_team_member_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_team_member")),
        sa.UniqueConstraint("team_id", "user_id", name=op.f("uq_organization_team_member_team_id")),
    )
    with op.batch_alter_table("organization_team_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_team_member_team_id"), ["team_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organization_team_member_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "session_organization",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_session_organization_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["login_session.id"],
            name=op.f("fk_session_organization_session_id_login_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["organization_team.id"],
            name=op.f("fk_session_organization_team_id_organization_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_organization")),
    )
    with op.batch_alter_table("session_organization", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_organization_organization_id"), ["organization_id"], unique=False
        )

    with op.batch_alter_table("oauth_code", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_oauth_code_organization_id_organization"),
            "organization",
            ["organization_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("oauth_token_family", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_oauth_token_family_organization_id_organization"),
            "organization",
            ["organization_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:

    with op.batch_alter_table("oauth_token_family", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_oauth_token_family_organization_id_organization"), type_="foreignkey"
        )
        batch_op.drop_column("organization_id")

    with op.batch_alter_table("oauth_code", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_oauth_code_organization_id_organization"), type_="foreignkey"
        )
        batch_op.drop_column("organization_id")

    with op.batch_alter_table("session_organization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_organization_organization_id"))

    op.drop_table("session_organization")
    with op.batch_alter_table("organization_team_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_team_member_user_id"))
        batch_op.drop_index(batch_op.f("ix_organization_team_member_team_id"))

    op.drop_table("organization_team_member")
    with op.batch_alter_table("organization_team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_team_organization_id"))

    op.drop_table("organization_team")
    with op.batch_alter_table("organization_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_role_organization_id"))

    op.drop_table("organization_role")
    with op.batch_alter_table("organization_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_member_user_id"))
        batch_op.drop_index(batch_op.f("ix_organization_member_organization_id"))

    op.drop_table("organization_member")
    with op.batch_alter_table("organization_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_invitation_organization_id"))
        batch_op.drop_index(batch_op.f("ix_organization_invitation_email"))

    op.drop_table("organization_invitation")
    with op.batch_alter_table("oauth_organization_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_organization_consent_user_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_organization_consent_organization_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_organization_consent_client_id"))

    op.drop_table("oauth_organization_consent")
    op.drop_table("oauth_client_organization")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_created_by"))

    op.drop_table("organization")
