"""The admin console: banned accounts, impersonations, and the indexes that keep the people
search fast (prefixes of the email and of the lower-cased name, and the newest-first order).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_ban",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("banned_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_ban_user_id_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["banned_by_id"],
            ["user.id"],
            name=op.f("fk_user_ban_banned_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_ban")),
    )
    op.create_index(op.f("ix_user_ban_expires_at"), "user_ban", ["expires_at"], unique=False)
    op.create_table(
        "impersonation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["admin_id"],
            ["user.id"],
            name=op.f("fk_impersonation_admin_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_impersonation_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impersonation")),
        sa.UniqueConstraint("session_id", name=op.f("uq_impersonation_session_id")),
    )
    op.create_index(op.f("ix_impersonation_user_id"), "impersonation", ["user_id"], unique=False)
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_index(
        "ix_user_email_pattern",
        "user",
        ["email"],
        postgresql_ops={"email": "varchar_pattern_ops"},
    )
    lower_name = "lower(name) varchar_pattern_ops" if postgresql else "lower(name)"
    op.create_index("ix_user_name_pattern", "user", [sa.text(lower_name)])
    op.create_index("ix_user_created_at", "user", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_user_created_at", table_name="user")
    op.drop_index("ix_user_name_pattern", table_name="user")
    op.drop_index("ix_user_email_pattern", table_name="user")
    op.drop_index(op.f("ix_impersonation_user_id"), table_name="impersonation")
    op.drop_table("impersonation")
    op.drop_index(op.f("ix_user_ban_expires_at"), table_name="user_ban")
    op.drop_table("user_ban")
