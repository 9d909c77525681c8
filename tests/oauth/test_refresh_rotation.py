"""Refresh tokens: issued for offline_access, rotated on every use, bound to their client.

RFC 6749 §6 (refreshing; scope may only narrow), §5.2 (invalid_grant, invalid_scope);
OAuth 2.1 §4.3.1 (rotation for public clients); RFC 9700 §4.14.2 (reuse of a rotated token
revokes the family; requests racing or retrying within the grace window get the same
successor, so a family never forks); OpenID Connect Core §12.2 (the ID token of a refresh) and §11
(offline_access).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from idp.core.audit import AuditEvent
from idp.core.security import digest
from idp.db import Prepared, db, utcnow
from idp.oauth import rotation
from idp.oauth.models import Client, RefreshToken, TokenFamily
from tests.oauth.issued import claims_of, issue, post_as, refresh, userinfo

RACERS = 50


def test_a_refresh_rotates_the_token_and_keeps_the_sign_in(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    first = issue(http, browser, client, nonce="n-1")

    response = refresh(http, client, first["refresh_token"])

    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"  # RFC 6749 §5.1
    second = response.json()
    assert second["token_type"] == "Bearer"
    assert second["scope"] == "openid profile offline_access"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    original, renewed = claims_of(http, first["id_token"]), claims_of(http, second["id_token"])
    for claim in ("iss", "sub", "aud", "auth_time", "acr", "amr", "sid"):
        assert renewed[claim] == original[claim], claim  # OpenID Connect Core §12.2
    assert "nonce" not in renewed
    assert userinfo(http, second["access_token"]).status_code == 200
    third = refresh(http, client, second["refresh_token"])
    assert third.status_code == 200, third.text
    with http.app.app_context():
        rows = db.session.scalars(select(RefreshToken).order_by(RefreshToken.id)).all()
        assert len({row.family_id for row in rows}) == 1  # one family, three tokens
        assert [row.rotated_at is not None for row in rows] == [True, True, False]


def test_a_stock_client_refreshes(server, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(server, browser, client)
    session = OAuth2Session(client.client_id, client.client_secret, token=token)

    renewed = session.refresh_token(server.url + "/token")

    assert renewed["refresh_token"] != token["refresh_token"]
    assert session.get(server.url + "/userinfo").status_code == 200


def test_a_public_client_refreshes_with_its_client_id(http, browser, make_user, make_client):
    make_user()
    client = make_client(public=True)
    token = issue(http, browser, client)

    response = refresh(http, client, token["refresh_token"])

    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"] != token["refresh_token"]


def test_a_retry_within_the_grace_window_gets_the_same_refresh_token(
    http, browser, make_user, make_client
):
    """RFC 9700 §4.14.2: a client whose answer got lost retries with the same token and gets
    the same successor, so the family still has one live refresh token."""
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    winner = refresh(http, client, token["refresh_token"])
    late = refresh(http, client, token["refresh_token"])

    assert winner.status_code == 200, winner.text
    assert late.status_code == 200, late.text
    assert late.json()["refresh_token"] == winner.json()["refresh_token"]
    assert userinfo(http, late.json()["access_token"]).status_code == 200
    assert refresh(http, client, late.json()["refresh_token"]).status_code == 200


def test_concurrent_refreshes_never_fork_the_family(server, browser, make_user, make_client, clock):
    """OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: 50 requests racing with one refresh token, each on
    its own thread and database connection, all get the same successor, so the family keeps
    one live refresh token. The successor is stored sealed, and only for the reuse window;
    reuse after the window revokes the family."""
    make_user()
    client = make_client()
    token = issue(server, browser, client)
    start = threading.Barrier(RACERS)

    def race(_: int) -> Any:
        start.wait()
        return refresh(server, client, token["refresh_token"])

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        responses = list(pool.map(race, range(RACERS)))

    assert [r.status_code for r in responses] == [200] * RACERS, [r.text for r in responses]
    successors = {r.json()["refresh_token"] for r in responses}
    assert len(successors) == 1
    successor = successors.pop()
    with server.app.app_context():
        family = db.session.scalars(select(TokenFamily)).one()
        assert family.revoked_at is None
        live = db.session.scalars(select(RefreshToken).where(RefreshToken.rotated_at.is_(None)))
        assert [row.token_hash for row in live] == [digest(successor)]
        first = db.session.scalars(select(RefreshToken).order_by(RefreshToken.id)).first()
        assert first is not None and first.successor is not None
        assert successor not in first.successor  # sealed, not stored in the clear

    clock.advance(11)  # past IDP_REFRESH_REUSE_GRACE (10 s)
    newest = refresh(server, client, successor)  # a rotation drops expired successors
    replay = refresh(server, client, token["refresh_token"])

    assert newest.status_code == 200, newest.text
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert refresh(server, client, newest.json()["refresh_token"]).status_code == 400
    with server.app.app_context():
        assert db.session.scalars(select(TokenFamily)).one().revoked_at is not None
        first = db.session.scalars(select(RefreshToken).order_by(RefreshToken.id)).first()
        assert first is not None and first.successor is None and first.successor_until is None


@pytest.mark.settings(IDP_REFRESH_REUSE_GRACE="1")
def test_reuse_after_the_grace_window_revokes_the_family(
    http, browser, make_user, make_client, clock
):
    make_user()
    client = make_client()
    token = issue(http, browser, client)
    current = refresh(http, client, token["refresh_token"]).json()
    clock.advance(1.2)

    replay = refresh(http, client, token["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # Every token of the family is now dead, the newest included.
    after = refresh(http, client, current["refresh_token"])
    assert after.json()["error"] == "invalid_grant"
    assert userinfo(http, current["access_token"]).status_code == 401
    with http.app.app_context():
        family = db.session.scalars(select(TokenFamily)).one()
        assert family.revoked_at is not None
        events = db.session.scalars(select(AuditEvent.event)).all()
        assert events.count("refresh_token_reused") == 1


def test_a_refresh_token_is_bound_to_its_client(http, browser, make_user, make_client, snapshot):
    make_user()
    owner, other = make_client(), make_client(name="Other App")
    token = issue(http, browser, owner)
    _known_here(http, other)
    before = snapshot()

    response = refresh(http, other, token["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert snapshot() == before
    assert refresh(http, owner, token["refresh_token"]).status_code == 200


def test_the_scope_may_narrow(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client, scope="openid profile email offline_access")

    narrowed = refresh(http, client, token["refresh_token"], scope="profile")

    assert narrowed.status_code == 200, narrowed.text
    body = narrowed.json()
    assert body["scope"] == "profile"
    assert claims_of(http, body["access_token"])["scope"] == "profile"
    assert "id_token" not in body  # no openid in the narrowed scope
    # RFC 6749 §6: the new refresh token keeps the scope originally granted.
    full = refresh(http, client, body["refresh_token"]).json()
    assert full["scope"] == "openid profile email offline_access"
    assert "id_token" in full


def test_the_scope_may_not_widen(http, browser, make_user, make_client, snapshot):
    make_user()
    client = make_client()
    token = issue(http, browser, client, scope="openid offline_access")
    before = snapshot()

    response = refresh(http, client, token["refresh_token"], scope="openid email")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert snapshot() == before


def test_no_refresh_token_without_offline_access(http, browser, make_user, make_client):
    make_user()
    client = make_client()

    token = issue(http, browser, client, scope="openid profile")

    assert "refresh_token" not in token
    assert "access_token" in token


def test_no_refresh_token_for_a_client_without_the_refresh_grant(
    http, browser, make_user, make_client
):
    make_user()
    client = make_client(grant_types=["authorization_code"])

    token = issue(http, browser, client, scope="openid offline_access")

    assert "refresh_token" not in token


def test_an_unknown_refresh_token_is_refused(http, make_client, snapshot):
    client = make_client()
    before = snapshot()

    response = refresh(http, client, "not-a-token-we-issued")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert snapshot() == before


def test_a_missing_refresh_token_is_refused(http, make_client):
    client = make_client()

    response = post_as(http, client, "/token", grant_type="refresh_token")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_an_expired_refresh_token_is_refused(
    http, browser, make_user, make_client, snapshot, clock
):
    make_user()
    client = make_client()
    with http.app.app_context():
        row = db.session.scalars(select(Client)).one()
        row.refresh_token_ttl = 1
        db.session.commit()
    token = issue(http, browser, client)
    clock.advance(1.2)
    before = snapshot()

    response = refresh(http, client, token["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert snapshot() == before


@pytest.mark.parametrize("expired", [RefreshToken, TokenFamily])
def test_a_token_or_family_past_its_expiry_is_refused(
    http, browser, make_user, make_client, snapshot, expired
):
    """RFC 6749 §5.2 invalid_grant for an expired refresh token, whether the token's own
    expiry or its family's has passed (each checked on its own, with the client already
    known to the serving process)."""
    make_user()
    client = make_client()
    token = issue(http, browser, client)
    with http.app.app_context():
        row = db.session.scalars(select(expired)).first()
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    _known_here(http, client)
    before = snapshot()

    response = refresh(http, client, token["refresh_token"])

    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "The refresh token has expired.",
    }
    assert snapshot() == before


def test_a_token_of_a_grant_without_a_user_is_refused(
    http, browser, make_user, make_client, snapshot
):
    """A grant whose user is gone has no one to issue for: refused, nothing rotated."""
    make_user()
    client = make_client()
    token = issue(http, browser, client)
    with http.app.app_context():
        db.session.scalars(select(TokenFamily)).one().user_id = None
        db.session.commit()
    _known_here(http, client)
    before = snapshot()

    response = refresh(http, client, token["refresh_token"])

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "There is no 'user' for this token.",
    }
    assert snapshot() == before


def _known_here(http: Any, client: Any) -> None:
    """Have the serving process load `client` (a refused request), so the refresh under test
    finds it kept and begins no ORM transaction, whose rollback would hide a write."""
    assert refresh(http, client, "not-a-refresh-token").status_code == 400


def test_a_token_of_a_revoked_family_is_refused(http, browser, make_user, make_client, snapshot):
    make_user()
    client = make_client()
    token = issue(http, browser, client)
    with http.app.app_context():
        family = db.session.scalars(select(TokenFamily)).one()
        family.revoked_at = family.created_at
        db.session.commit()
    before = snapshot()

    response = refresh(http, client, token["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert snapshot() == before


def test_a_rotation_never_waits_on_another_familys_expired_successor(
    server, browser, make_user, make_client, clock, database_url
):
    """Rotations of different families do not wait on each other: the sweep of successors past
    their window skips a row another transaction holds (PostgreSQL row locks; SQLite writes
    one at a time, so there is nothing to skip). Before, every rotation's sweep updated every
    expired successor and waited on any of them another transaction had locked."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL only")
    make_user()
    client = make_client()
    held, other = issue(server, browser, client), issue(server, browser, client)
    assert refresh(server, client, held["refresh_token"]).status_code == 200
    clock.advance(11)  # the successor kept on `held`'s row is past IDP_REFRESH_REUSE_GRACE
    with server.app.app_context():
        engine = db.engine
    row = RefreshToken.__table__
    with engine.connect() as locker, locker.begin():
        locked = locker.execute(
            select(row.c.id).where(row.c.successor.is_not(None)).with_for_update()
        ).scalar_one()

        rotated = refresh(server, client, other["refresh_token"])  # 5 s timeout

        assert rotated.status_code == 200, rotated.text
    with server.app.app_context():
        kept = db.session.get(RefreshToken, locked)
        assert kept is not None and kept.successor is not None  # skipped, not waited on
    clock.advance(1)  # sweeps are a second apart (idp.oauth.rotation)
    assert refresh(server, client, rotated.json()["refresh_token"]).status_code == 200
    with server.app.app_context():
        db.session.expire_all()
        kept = db.session.get(RefreshToken, locked)
        assert kept is not None and kept.successor is None  # the next sweep dropped it


def test_expired_successors_are_swept_once_a_second_not_on_every_rotation(
    server, browser, make_user, make_client, clock
):
    """A successor past its window is dropped by the first rotation a second or more after the
    last sweep in the process; rotations in between leave it (one statement a second, not one
    per rotation)."""
    make_user()
    client = make_client()
    first, second, third = (issue(server, browser, client) for _ in range(3))
    clock.advance(5)
    assert refresh(server, client, first["refresh_token"]).status_code == 200  # a sweep
    with server.app.app_context():
        row = db.session.scalars(
            select(RefreshToken).where(RefreshToken.token_hash == digest(first["refresh_token"]))
        ).one()
        row.successor_until = utcnow() - timedelta(seconds=1)  # its window is over
        db.session.commit()
        row_id = row.id

    def kept() -> str | None:
        with server.app.app_context():
            found = db.session.get(RefreshToken, row_id)
            assert found is not None
            return found.successor

    clock.advance(0.2)
    assert refresh(server, client, second["refresh_token"]).status_code == 200
    assert kept() is not None  # within a second of the last sweep: left
    clock.advance(1)
    assert refresh(server, client, third["refresh_token"]).status_code == 200
    assert kept() is None


@pytest.mark.parametrize("narrowing", [{}, {"scope": "openid offline_access"}])
def test_a_refresh_writes_in_one_transaction_of_its_own(
    http, browser, make_user, make_client, database_url, monkeypatch, narrowing
):
    """A refresh reads the presented token once and writes its rotation without the ORM
    session. On PostgreSQL a refresh that narrows nothing is one statement (the read, the
    UPDATE and the successor's INSERT in one WITH); one that names a scope (RFC 6749 §6) or a
    resource (RFC 8707 §2.2), checked in Python, is the read, then the UPDATE and INSERT in
    one WITH. Neither has a BEGIN or COMMIT around it. On SQLite: the read, then the UPDATE
    and the INSERT, committed together."""
    make_user()
    client = make_client()
    token = issue(http, browser, client)
    statements: list[str] = []
    first, run = Prepared.first, Prepared.run

    def counted_first(self, connection, **params):  # type: ignore[no-untyped-def]
        statements.append(_kind(self))
        return first(self, connection, **params)

    def counted_run(self, connection, **params):  # type: ignore[no-untyped-def]
        statements.append(_kind(self))
        return run(self, connection, **params)

    monkeypatch.setattr(Prepared, "first", counted_first)
    monkeypatch.setattr(Prepared, "run", counted_run)
    monkeypatch.setattr(rotation, "_last_sweep", utcnow())  # no sweep due in this test
    began: list[Session] = []
    listener = (Session, "after_begin", lambda session, *_: began.append(session))
    event.listen(*listener)
    try:
        response = refresh(http, client, token["refresh_token"], **narrowing)
    finally:
        event.remove(*listener)

    assert response.status_code == 200, response.text
    if not database_url.startswith("postgresql"):
        assert statements == ["SELECT", "UPDATE", "INSERT"]
    elif narrowing:
        assert statements == ["SELECT", "WITH UPDATE INSERT"]
    else:
        assert statements == ["WITH SELECT UPDATE INSERT"]
    assert began == []  # no ORM transaction: no BEGIN, no COMMIT of the session
    assert refresh(http, client, response.json()["refresh_token"]).status_code == 200


def _kind(prepared: Prepared) -> str:
    sql = str(prepared.statement)
    if sql.startswith("WITH presented"):
        return "WITH SELECT UPDATE INSERT"
    return "WITH UPDATE INSERT" if sql.startswith("WITH") else sql.split()[0]


def test_a_rotation_whose_insert_fails_leaves_the_token_unrotated(
    http, browser, make_user, make_client, snapshot, monkeypatch
):
    """The UPDATE and the successor's INSERT land together or not at all: an INSERT that fails
    (here a successor whose digest collides with the presented token's) leaves the presented
    token as it was, and it refreshes once the fault is gone."""
    make_user()
    client = make_client()
    token = issue(http, browser, client)
    before = snapshot()
    presented = digest(token["refresh_token"])
    monkeypatch.setattr(rotation, "digest", lambda _token: presented)

    response = refresh(http, client, token["refresh_token"])

    assert response.status_code == 500
    assert snapshot() == before
    monkeypatch.undo()
    assert refresh(http, client, token["refresh_token"]).status_code == 200
