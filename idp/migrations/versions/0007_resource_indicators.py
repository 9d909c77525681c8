"""Resource indicators (RFC 8707): the resource registry, the resources of codes and token
families, and consent per client and resource.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=2000), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("access_token_ttl", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_resource")),
        sa.UniqueConstraint("uri", name=op.f("uq_oauth_resource_uri")),
    )
    for table in ("oauth_code", "oauth_token_family"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("resources", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
            )
    # Consent was one row per user and client; now one per user, client and resource.
    # The unique constraint keeps its name (the convention names it after its first column).
    with op.batch_alter_table("oauth_consent") as batch:
        batch.add_column(
            sa.Column("resource", sa.String(length=2000), nullable=False, server_default="")
        )
        batch.drop_constraint("uq_oauth_consent_user_id", type_="unique")
        batch.create_unique_constraint(
            "uq_oauth_consent_user_id", ["user_id", "client_id", "resource"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM oauth_consent WHERE resource <> ''")
    with op.batch_alter_table("oauth_consent") as batch:
        batch.drop_constraint("uq_oauth_consent_user_id", type_="unique")
        batch.create_unique_constraint("uq_oauth_consent_user_id", ["user_id", "client_id"])
        batch.drop_column("resource")
    for table in ("oauth_token_family", "oauth_code"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("resources")
    op.drop_table("oauth_resource")
