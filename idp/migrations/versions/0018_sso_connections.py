"""Enterprise SSO: organization connections, claimed domains, sessions started through SSO and
used SAML assertion IDs.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    name = op.f(f"fk_{table}_{column}_{target}")
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=name, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "sso_connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("default_role", sa.String(length=64), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("allow_idp_initiated", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("sso_connection", "organization_id", "organization", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_connection")),
    )
    op.create_table(
        "sso_domain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("verified_domain", sa.String(length=253), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("sso_domain", "organization_id", "organization", "CASCADE"),
        _fk("sso_domain", "connection_id", "sso_connection", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_domain")),
        sa.UniqueConstraint(
            "organization_id", "domain", name=op.f("uq_sso_domain_organization_id")
        ),
        sa.UniqueConstraint("verified_domain", name=op.f("uq_sso_domain_verified_domain")),
    )
    op.create_table(
        "sso_session",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        _fk("sso_session", "session_id", "login_session", "CASCADE"),
        _fk("sso_session", "connection_id", "sso_connection", "CASCADE"),
        _fk("sso_session", "organization_id", "organization", "CASCADE"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_sso_session")),
    )
    op.create_table(
        "saml_assertion_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=1024), nullable=False),
        sa.Column("assertion_id", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_assertion_use")),
        sa.UniqueConstraint("issuer", "assertion_id", name=op.f("uq_saml_assertion_use_issuer")),
    )
    for table, column in (
        ("sso_connection", "organization_id"),
        ("sso_domain", "organization_id"),
        ("sso_domain", "connection_id"),
        ("sso_session", "connection_id"),
        ("sso_session", "organization_id"),
        ("saml_assertion_use", "expires_at"),
    ):
        with op.batch_alter_table(table) as batch:
            batch.create_index(batch.f(f"ix_{table}_{column}"), [column], unique=False)


def downgrade() -> None:
    for table in ("saml_assertion_use", "sso_session", "sso_domain", "sso_connection"):
        op.drop_table(table)
