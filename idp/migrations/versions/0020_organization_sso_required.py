"""An organization's policy that its members reach it only through its single sign-on.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# SQLite rebuilds the table; its foreign keys' tables need not be read.
QUIET = {"resolve_fks": False}


def upgrade() -> None:
    with op.batch_alter_table("organization", reflect_kwargs=QUIET) as batch:
        batch.add_column(
            sa.Column("sso_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Organizations whose connections already require it.
    op.execute(
        "UPDATE organization SET sso_required = TRUE WHERE id IN (SELECT organization_id "
        "FROM sso_connection WHERE required = TRUE AND enabled = TRUE)"
    )


def downgrade() -> None:
    with op.batch_alter_table("organization", reflect_kwargs=QUIET) as batch:
        batch.drop_column("sso_required")
