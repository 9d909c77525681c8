"""Token families kept by a process on PostgreSQL (idp.oauth.families, idp.core.notices): an
introspection or a userinfo request for a family this process has read reads nothing, and a
change to the family or its user drops it.

- RFC 7009 §2.2: a revocation made elsewhere is refused once its notification is heard (a
  propagation the RFC allows between servers); one made in this process, by its next request.
- RFC 7662 §2.2: a revoked family's access token introspects `{"active": false}`; OpenID
  Connect Core §5.3.3: userinfo refuses it with 401 and `invalid_token` (RFC 6750 §3.1).
- A user's claims changed, or the user deleted, reach userinfo the same way.
- A read overtaken by a revocation is never kept: the next request sees the revocation.
- Nothing read inside the session's transaction is kept: it may see what is rolled back.
- While the listener is away, every request reads, and sees every change at once.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text

from idp.db import db
from idp.identity.models import User
from idp.oauth import families
from idp.oauth.grants import revoke_family
from tests.helpers.waiting import heard, listener_away, wait_until
from tests.test_generations import count_reads, introspect, user_tokens


@pytest.fixture(autouse=True)
def _on_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("notifications: PostgreSQL only (SQLite reads a family every time)")


@pytest.fixture
def issued(app, make_user, make_client) -> dict[str, Any]:
    client = make_client()
    tokens = user_tokens(app, make_user, client)
    return {"client": client, "access_token": tokens["access_token"]}


def _active(app: Flask, issued: dict[str, Any]) -> bool:
    client = issued["client"]
    status, body = introspect(app, client, issued["access_token"], client.client_secret)
    assert status == 200
    return bool(body["active"])


def _userinfo(app: Flask, issued: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    bearer = {"Authorization": "Bearer " + issued["access_token"]}
    answer = app.test_client().get("/userinfo", headers=bearer)
    return answer.status_code, answer.get_json(silent=True) or {}


def _elsewhere(app: Flask, statement: str) -> None:
    """A change made as another process would: on a connection of its own."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()


def _kept(app: Flask, issued: dict[str, Any]) -> None:
    """Read the family by both paths while the listener listens: it is kept from now on.
    The first introspection loads the client through the session, in whose transaction
    nothing read is kept: the second keeps the family."""
    assert heard(app)
    assert _active(app, issued) and _active(app, issued)
    assert _userinfo(app, issued)[0] == 200


def test_a_kept_family_is_read_once(app, issued, monkeypatch):
    _kept(app, issued)
    reads = count_reads(monkeypatch)

    assert _active(app, issued)
    status, claims = _userinfo(app, issued)

    assert (status, sorted(claims)) == (200, ["name", "sub", "updated_at"])
    assert reads == []


def test_a_family_revoked_elsewhere_is_refused_once_heard(app, issued):
    _kept(app, issued)

    _elsewhere(app, "UPDATE oauth_token_family SET revoked_at = now()")
    assert heard(app)

    assert not _active(app, issued)
    status, body = _userinfo(app, issued)
    assert (status, body["error"]) == (401, "invalid_token")


def test_a_family_revoked_here_is_refused_by_the_next_request(app, issued):
    _kept(app, issued)

    with app.app_context():
        family_id = db.session.scalars(text("SELECT id FROM oauth_token_family")).one()
        assert revoke_family(family_id)
        db.session.commit()

    # No wait for the listener: this process dropped what it kept when it committed.
    assert not _active(app, issued)
    assert _userinfo(app, issued)[0] == 401


def test_a_user_changed_here_is_seen_by_the_next_request(app, issued):
    _kept(app, issued)

    with app.app_context():
        user = db.session.scalars(select(User)).one()
        user.name = "Ada Lovelace"
        db.session.commit()

    status, claims = _userinfo(app, issued)
    assert (status, claims.get("name")) == (200, "Ada Lovelace")


def test_a_user_changed_or_deleted_elsewhere_is_seen_once_heard(app, issued):
    _kept(app, issued)

    _elsewhere(app, "UPDATE \"user\" SET name = 'Countess of Lovelace'")
    assert heard(app)
    status, claims = _userinfo(app, issued)
    assert (status, claims.get("name")) == (200, "Countess of Lovelace")

    _elsewhere(app, 'DELETE FROM "user"')  # its families go with it
    assert heard(app)
    assert _userinfo(app, issued)[0] == 401
    assert not _active(app, issued)


def test_a_read_overtaken_by_a_revocation_is_not_kept(app, issued, monkeypatch):
    assert heard(app)
    read = families._read_family

    def overtaken(family_id: str) -> families.FamilyState | None:
        state = read(family_id)  # live when read
        _elsewhere(app, "UPDATE oauth_token_family SET revoked_at = now()")
        assert heard(app)  # the revocation is heard before the read's answer is kept
        return state

    monkeypatch.setattr(families, "_read_family", overtaken)
    assert _active(app, issued)  # this request read before the revocation
    monkeypatch.undo()

    assert not _active(app, issued)


def test_while_the_listener_is_away_every_request_reads(app, issued):
    _kept(app, issued)
    listener = listener_away(app)

    _elsewhere(app, "UPDATE oauth_token_family SET revoked_at = now()")

    assert not _active(app, issued)  # at once: read, not kept
    wait_until(listener.fresh, 10, "the listener is back")
    assert not _active(app, issued)


def test_a_read_inside_a_transaction_is_not_kept(app, issued):
    """A revocation read before it commits, then rolled back, leaves the family live."""
    assert heard(app)
    with app.app_context():
        family_id = db.session.scalars(text("SELECT id FROM oauth_token_family")).one()
        assert revoke_family(family_id)  # not committed
        state = families.family_state(family_id)
        assert state is not None and state.revoked_at is not None  # as the transaction sees it
        db.session.rollback()

    assert _active(app, issued)
    assert _userinfo(app, issued)[0] == 200
