"""Token introspection (RFC 7662) by resource servers: the client that may introspect the
access tokens issued for a resource.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_resource") as batch:
        batch.add_column(sa.Column("introspection_client_id", sa.String(length=200), nullable=True))
        batch.create_foreign_key(
            op.f("fk_oauth_resource_introspection_client_id_oauth_client"),
            "oauth_client",
            ["introspection_client_id"],
            ["client_id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_resource") as batch:
        batch.drop_constraint(
            op.f("fk_oauth_resource_introspection_client_id_oauth_client"), type_="foreignkey"
        )
        batch.drop_column("introspection_client_id")
