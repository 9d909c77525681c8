"""Refresh-token successors: a rotated refresh token keeps its successor, sealed, for the reuse
window, so concurrent refreshes all get the same one and a family never forks.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_refresh_token") as batch:
        batch.add_column(sa.Column("successor", sa.Text(), nullable=True))
        batch.add_column(sa.Column("successor_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            op.f("ix_oauth_refresh_token_successor_until"), ["successor_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_refresh_token") as batch:
        batch.drop_index(op.f("ix_oauth_refresh_token_successor_until"))
        batch.drop_column("successor_until")
        batch.drop_column("successor")
