"""Requested claims: what the `claims` parameter (OpenID Connect Core §5.5) asked for, kept
with the token family, for userinfo and for ID tokens issued on refresh.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_token_family") as batch:
        batch.add_column(sa.Column("claims", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_token_family") as batch:
        batch.drop_column("claims")
