"""PostgreSQL notifies what each process keeps, in the transaction that changes it, so a
process hears a change instead of asking on every request (idp.core.notices):

- `idp_generation`, "<name> <value>" (or "<name>" once deleted): a change counter moved
  (idp.core.generations);
- `idp_family`, a family's id: its row was updated (a revocation) or deleted (with its user,
  client or organization) (idp.oauth.families);
- `idp_user`, a user's id: the claims userinfo reads changed, or the user was deleted.

SQLite has no notifications: nothing to do there.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _changed(*columns: str) -> str:
    return " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)


# What a process keeps of a family (idp.oauth.families FamilyState; JSON compares as text)
FAMILY_COLUMNS = ("client_id", "user_id", "revoked_at", "claims::text", "organization_id")

# function and channel, table, payload (from OLD or NEW), then each trigger's events and the
# condition it fires on (an update that changes nothing a process keeps notifies nothing)
NOTIFIED = [
    (
        "idp_generation",
        "idp_generation",
        "CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name || ' ' || NEW.value END",
        [("INSERT OR UPDATE OR DELETE", "")],
    ),
    (
        "idp_family",
        "oauth_token_family",
        "OLD.id",
        [
            (
                "UPDATE",
                _changed("client_id", "user_id", "revoked_at", "claims::text", "organization_id"),
            ),
            ("DELETE", ""),
        ],
    ),
    (
        "idp_user",
        '"user"',
        "OLD.id::text",
        [
            ("UPDATE", _changed("name", "email", "email_verified_at", "updated_at")),
            ("DELETE", ""),
        ],
    ),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for channel, table, payload, triggers in NOTIFIED:
        # OR REPLACE: a function outlives the tables a test run drops and makes again.
        op.execute(
            f"CREATE OR REPLACE FUNCTION {channel}_notify() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$\nBEGIN\n    PERFORM pg_notify('{channel}', {payload});\n"
            "    RETURN NULL;\nEND\n$$"
        )
        for events, condition in triggers:
            name = f"{channel}_{events.split()[0].lower()}"
            when = f" WHEN ({condition})" if condition else ""
            op.execute(
                f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW{when} "
                f"EXECUTE FUNCTION {channel}_notify()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for channel, table, _payload, triggers in NOTIFIED:
        for events, _condition in triggers:
            op.execute(f"DROP TRIGGER {channel}_{events.split()[0].lower()} ON {table}")
        op.execute(f"DROP FUNCTION {channel}_notify()")
