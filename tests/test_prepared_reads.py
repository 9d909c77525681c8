"""The hot paths' reads on the driver's cursor (idp.db.Prepared): a row reads exactly as the
SQL layer reads it (timestamps in UTC, JSON decoded, NULLs as None), on SQLite and PostgreSQL
alike, over the connection a request reads on (idp.db.reading)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, select

from idp.db import Prepared, db, reading, utcnow
from idp.oauth.families import _FAMILY_WITH_USER, family_state, family_with_user
from idp.oauth.models import Client, TokenFamily


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


def test_a_statement_with_a_literal_value_is_refused(app):
    """A literal becomes a parameter the caller does not give: refused when first compiled."""
    table = TokenFamily.__table__
    prepared = Prepared(
        select(table.c.id).where(table.c.id == bindparam("id"), table.c.scope == "openid")
    )
    with app.app_context(), pytest.raises(ValueError, match="named parameters"):
        prepared.first(reading(), id="x")
