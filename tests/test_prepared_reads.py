"""The hot paths' statements on the driver's cursor (idp.db.Prepared): a row reads exactly as
the SQL layer reads it (timestamps in UTC, JSON decoded, NULLs as None), and a write stores
its parameters as the SQL layer would, on SQLite and PostgreSQL alike, over the connection a
request reads on (idp.db.reading) or the session's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select, update

from idp.core.security import digest
from idp.db import Prepared, db, reading, utcnow
from idp.identity.models import User
from idp.oauth.families import (
    _FAMILY_WITH_USER,
    GRANT_COLUMNS,
    FamilyGrant,
    family_state,
    family_with_user,
    presented_refresh_token,
)
from idp.oauth.models import Client, RefreshToken, TokenFamily


def _family(app, make_user, make_client, *, revoked: bool) -> str:
    user_id, client = make_user(name="Ada Lovelace"), make_client()
    with app.app_context():
        client_id = db.session.scalar(select(Client.id).where(Client.client_id == client.client_id))
        now = utcnow()
        db.session.add(
            TokenFamily(
                id="family-" + ("revoked" if revoked else "live"),
                client_id=client_id,
                user_id=user_id,
                scope="openid profile",
                claims={"userinfo": {"name": None}} if revoked else None,
                expires_at=now + timedelta(days=1),
                revoked_at=now if revoked else None,
            )
        )
        db.session.commit()
        return "family-" + ("revoked" if revoked else "live")


@pytest.mark.parametrize("revoked", [True, False])
def test_a_row_reads_as_the_sql_layer_reads_it(app, make_user, make_client, revoked):
    family_id = _family(app, make_user, make_client, revoked=revoked)
    with app.app_context():
        layer = db.session.execute(_FAMILY_WITH_USER.statement, {"family_id": family_id}).one()
        db.session.rollback()

        assert _FAMILY_WITH_USER.first(reading(), family_id=family_id) == tuple(layer)
        state = family_state(family_id)
        assert state is not None
        assert (state.revoked_at is not None) is revoked
        if state.revoked_at is not None:
            assert state.revoked_at.utcoffset() == timedelta(0)
        assert state.claims == ({"userinfo": {"name": None}} if revoked else None)
        found = family_with_user(family_id)
        assert found is not None and found[1] is not None
        assert found[1].name == "Ada Lovelace"


def test_no_row_is_none(app):
    with app.app_context():
        assert family_state("no-such-family") is None
        assert family_with_user("no-such-family") is None


def test_a_literal_in_the_statement_is_bound_as_built(app, make_user, make_client):
    family_id = _family(app, make_user, make_client, revoked=False)  # scope "openid profile"
    table = TokenFamily.__table__

    def of_scope(scope: str) -> Prepared:
        return Prepared(
            select(table.c.id).where(table.c.id == bindparam("id"), table.c.scope == scope)
        )

    with app.app_context():
        assert of_scope("openid profile").first(reading(), id=family_id) == (family_id,)
        assert of_scope("openid").first(reading(), id=family_id) is None


def test_a_write_converts_its_parameters_as_the_sql_layer_does(app, make_user, make_client):
    """A timestamp goes through its column's type (to UTC; SQLite's text form), so the row
    reads back through the ORM as written; `run` counts the rows it changed."""
    family_id = _family(app, make_user, make_client, revoked=False)
    table = TokenFamily.__table__
    revoke = Prepared(
        update(table)
        .where(table.c.id == bindparam("id"), table.c.revoked_at.is_(None))
        .values(revoked_at=bindparam("now"))
    )
    at = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    with app.app_context():
        connection = db.session.connection()
        assert revoke.run(connection, id=family_id, now=at) == 1
        assert revoke.run(connection, id=family_id, now=at) == 0  # already revoked
        db.session.commit()
        family = db.session.get(TokenFamily, family_id)
        assert family is not None and family.revoked_at == at
        assert family.revoked_at.utcoffset() == timedelta(0)


def test_a_presented_refresh_token_reads_as_its_rows(app, make_user, make_client):
    family_id = _family(app, make_user, make_client, revoked=False)
    with app.app_context():
        db.session.add(
            RefreshToken(
                token_hash=digest("presented"),
                family_id=family_id,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        db.session.commit()
        row = db.session.scalars(select(RefreshToken)).one()
        family = row.family
        user = db.session.get(User, family.user_id)
        assert user is not None

        found = presented_refresh_token(digest("presented"))

        assert found is not None
        assert (found.id, found.token_hash, found.expires_at, found.rotated_at) == (
            row.id,
            row.token_hash,
            row.expires_at,
            None,
        )
        assert found.family == FamilyGrant(
            **{column.name: getattr(family, column.name) for column in GRANT_COLUMNS}
        )
        assert found.user is not None and (found.user.id, found.user.email) == (user.id, user.email)
        assert presented_refresh_token(digest("unknown")) is None


# Every family read reaches the database: none is kept from a notified change (idp.core.notices).
@pytest.mark.settings(IDP_DATABASE_NOTIFICATIONS="false")
def test_a_postgresql_connection_keeps_one_cursor_and_a_new_connection_gets_its_own(
    app, make_user, make_client, database_url
):
    """On PostgreSQL the statements of a pooled connection share one cursor (psycopg reads a
    result whole, so it holds nothing between them); once the pool replaces the connection,
    its statements run on a cursor of the new one, never the old one's."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a kept cursor: PostgreSQL only (SQLite's is closed after each statement)")
    family_id = _family(app, make_user, make_client, revoked=False)
    with app.app_context():
        connection = reading()
        assert family_state(family_id) is not None
        kept = connection.connection.info["idp_cursor"]
        assert family_state("no-such-family") is None
        assert connection.connection.info["idp_cursor"] is kept
        connection.invalidate()  # as after a dropped connection
    with app.app_context():
        connection = reading()
        assert family_state(family_id) is not None
        cursor = connection.connection.info["idp_cursor"]
        assert cursor is not kept
        assert cursor.connection is connection.connection.dbapi_connection


def test_postgresql_reads_go_on_a_pool_of_their_own_in_autocommit_and_the_orm_never_does(
    app, make_user, database_url
):
    """The hot paths read on connections opened in autocommit, in a pool of their own (no
    BEGIN, ROLLBACK or switch of mode per request); the ORM's connections stay transactional,
    so what a session writes still lands whole or not at all."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a reads pool: PostgreSQL only (SQLite's reads begin no transaction)")
    user_id = make_user(name="Ada Lovelace")
    with app.app_context():
        read = reading()
        assert read.connection.dbapi_connection.autocommit is True
        assert read.engine is not db.engine
        user = db.session.get(User, user_id)  # the session begins: the reading one goes back
        assert db.session.connection().connection.dbapi_connection.autocommit is False
        user.name = "Changed"
        db.session.flush()
        assert reading().connection.dbapi_connection.autocommit is False  # the session's
        db.session.rollback()
    with app.app_context():
        assert db.session.get(User, user_id).name == "Ada Lovelace"  # rolled back whole
        db.session.rollback()
        # Given back to its pool as it was lent: still in autocommit, for the next request.
        assert reading().connection.dbapi_connection.autocommit is True
