"""Change counters for the caches of the hot protocol endpoints (idp.core.generations), and the
revoked access tokens that have no token family (client credentials, RFC 7009).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idp_generation",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_idp_generation")),
    )
    op.create_table(
        "oauth_revoked_access_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_oauth_revoked_access_token")),
    )
    op.create_index(
        op.f("ix_oauth_revoked_access_token_expires_at"),
        "oauth_revoked_access_token",
        ["expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_oauth_revoked_access_token_expires_at"), table_name="oauth_revoked_access_token"
    )
    op.drop_table("oauth_revoked_access_token")
    op.drop_table("idp_generation")
