"""Service providers of the SAML identity provider.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saml_service_provider",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(length=1024), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("acs_endpoints", sa.JSON(), nullable=False),
        sa.Column("slo_url", sa.String(length=2000), nullable=True),
        sa.Column("slo_binding", sa.String(length=100), nullable=True),
        sa.Column("certificates", sa.JSON(), nullable=False),
        sa.Column("authn_requests_signed", sa.Boolean(), nullable=False),
        sa.Column("want_assertions_signed", sa.Boolean(), nullable=False),
        sa.Column("name_id_format", sa.String(length=20), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("allow_idp_initiated", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("metadata_url", sa.String(length=2000), nullable=True),
        sa.Column("metadata_xml", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_service_provider")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_saml_service_provider_entity_id")),
    )


def downgrade() -> None:
    op.drop_table("saml_service_provider")
