"""The organization a person chose when allowing a device (the `organization` scope).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLE = "oauth_device_authorization"
KEY = "fk_oauth_device_authorization_organization_id_organization"
# SQLite rebuilds the table; its foreign keys' tables need not be read (the user table's
# expression index cannot be, and would only warn).
QUIET = {"resolve_fks": False}


def upgrade() -> None:
    with op.batch_alter_table(TABLE, reflect_kwargs=QUIET) as batch:
        batch.add_column(sa.Column("organization_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f(KEY), "organization", ["organization_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table(TABLE, reflect_kwargs=QUIET) as batch:
        batch.drop_constraint(batch.f(KEY), type_="foreignkey")
        batch.drop_column("organization_id")
