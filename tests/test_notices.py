"""Changes heard by database notifications (idp.core.notices) on PostgreSQL: each process
keeps the change counters (idp.core.generations) as a trigger notifies them, and reads them
from the database only when it cannot trust what it heard.

- A change committed elsewhere (the CLI, another worker) is heard, and then seen: a client
  credentials request with a kept client makes no statement at all.
- A change this process commits is seen by its next request, before the listener hears it.
- While the listener is away (its connection killed), requests read the counters as on
  SQLite and see every change at once; when it is back, what it missed is read again.
- IDP_DATABASE_NOTIFICATIONS=false: nothing listens, the counters are read per request.
- Two apps on two databases in one process each hear their own database's counters.

RFC 6749 §2.3.1 throughout: a client's old secret fails once the change is known, the new
one works.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text, update

from idp.core import generations, notices
from idp.core.security import digest
from idp.db import db
from idp.oauth.clients import cached_client
from idp.oauth.models import Client
from idp.settings import Settings
from tests.federation.upstream_peer import peer_database_url  # noqa: F401 (a fixture)
from tests.helpers.waiting import heard, listener_away, wait_until
from tests.test_generations import count_reads

SECRET = "a-new-secret-for-this-client-0123456789"


@pytest.fixture(autouse=True)
def _on_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("notifications: PostgreSQL only (SQLite reads the counters per request)")


def _token(app: Flask, client_id: str, secret: str) -> int:
    answer = app.test_client().post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    return answer.status_code


def _elsewhere(app: Flask, client_id: str, **values: str) -> None:
    """Change a client as another process would: on a connection of its own."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.begin() as connection:
        table = Client.__table__
        connection.execute(update(table).where(table.c.client_id == client_id).values(**values))
        generations.bump(connection, "clients")
    engine.dispose()


def _listener(app: Flask) -> notices.Listener:
    with app.app_context():
        listener = notices.app_notices().listener()
    assert listener is not None
    return listener


def _stored_counters(app: Flask) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(text("SELECT name, value FROM idp_generation")).all())


def test_a_change_made_elsewhere_is_heard_then_seen_without_a_statement(
    app, make_client, monkeypatch
):
    client = make_client(grant_types=["client_credentials"])
    assert _token(app, client.client_id, client.client_secret) == 200  # the client is kept
    assert heard(app)
    reads = count_reads(monkeypatch)
    assert _token(app, client.client_id, client.client_secret) == 200
    assert reads == []  # neither the client nor the counters: nothing was read

    _elsewhere(app, client.client_id, secret_hash=digest(SECRET))
    assert heard(app)
    assert generations._heard[_listener(app)] == _stored_counters(app)  # as notified

    assert _token(app, client.client_id, client.client_secret) == 401
    assert _token(app, client.client_id, SECRET) == 200


def test_a_change_this_process_commits_is_seen_by_its_next_request(app, make_client):
    client = make_client(grant_types=["client_credentials"])
    assert _token(app, client.client_id, client.client_secret) == 200
    assert heard(app)

    with app.app_context():
        row = db.session.scalars(select(Client).where(Client.client_id == client.client_id)).one()
        row.secret_hash = digest(SECRET)
        db.session.commit()

    # No wait: until the listener hears it, this process reads the counters.
    assert _token(app, client.client_id, client.client_secret) == 401
    assert _token(app, client.client_id, SECRET) == 200


def test_while_the_listener_is_away_the_counters_are_read(app, make_client, monkeypatch):
    client = make_client(grant_types=["client_credentials"])
    with app.app_context():
        assert cached_client(client.client_id) is not None
    assert heard(app)
    listener = listener_away(app)

    _elsewhere(app, client.client_id, secret_hash=digest(SECRET))
    reads = count_reads(monkeypatch)
    assert _token(app, client.client_id, client.client_secret) == 401  # at once: read
    assert "counters" in reads
    monkeypatch.undo()

    wait_until(listener.fresh, 10, "the listener is back")
    assert generations._heard[listener] == _stored_counters(app)  # read again on connecting
    _elsewhere(app, client.client_id, secret_hash=digest(SECRET + "2"))
    assert heard(app)
    assert _token(app, client.client_id, SECRET) == 401
    assert _token(app, client.client_id, SECRET + "2") == 200


@pytest.mark.settings(IDP_DATABASE_NOTIFICATIONS="false")
def test_with_notifications_off_every_request_reads_the_counters(app, make_client, monkeypatch):
    client = make_client(grant_types=["client_credentials"])
    with app.app_context():
        assert notices.app_notices().listener() is None
    assert _token(app, client.client_id, client.client_secret) == 200

    reads = count_reads(monkeypatch)
    assert _token(app, client.client_id, client.client_secret) == 200
    assert reads == ["counters"]

    _elsewhere(app, client.client_id, secret_hash=digest(SECRET))
    assert _token(app, client.client_id, SECRET) == 200  # at once, with no wait


def test_two_databases_in_one_process_are_heard_apart(
    app,
    make_client,
    build_app,
    env,
    peer_database_url,  # noqa: F811 (the fixture imported above)
    monkeypatch,
):
    client = make_client(grant_types=["client_credentials"])
    assert _token(app, client.client_id, client.client_secret) == 200
    other = build_app(Settings.from_env({**env, "DATABASE_URL": peer_database_url}))
    assert heard(app) and heard(other)
    assert _listener(app) is not _listener(other)

    engine = create_engine(peer_database_url)  # the other database's clients change
    with engine.begin() as connection:
        generations.bump(connection, "clients")
    engine.dispose()
    assert heard(other)

    reads = count_reads(monkeypatch)
    assert _token(app, client.client_id, client.client_secret) == 200
    assert reads == []  # this database's clients did not change: the kept one still serves
    assert generations._heard[_listener(app)] == _stored_counters(app)
