"""Server connections in the pool (idp.db): one the server dropped while it rested is replaced
before a request uses it; one in steady use is taken without a ping, a round trip saved on
every request. PostgreSQL only: SQLite opens a file, which no server drops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

import idp.db
from idp.db import db


@pytest.fixture
def pooled(app: Flask, database_url: str) -> Iterator[Flask]:
    if not database_url.startswith("postgresql"):
        pytest.skip("server connections: PostgreSQL only")
    yield app


def _client_credentials(app: Flask, client) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    answer = app.test_client().post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
    )
    return answer.status_code, answer.get_json()


def _drop_the_pools_connections(database_url: str) -> int:
    """As a server restart, a proxy or a firewall would: end every other session on the
    test's database (each test process has its own)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return int(ended)


def _count_pings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pings on every pool of the app: the ORM's, and the one the hot paths read on."""
    with app.app_context():
        dialects = [engine.dialect for engine in db.engines.values()]
    assert len(dialects) == 2
    pings: list[int] = []
    for dialect in dialects:
        monkeypatch.setattr(dialect, "do_ping", _counting(dialect.do_ping, pings))
    return pings


def _counting(ping, pings: list[int]):  # type: ignore[no-untyped-def]
    def counted(dbapi_connection):  # type: ignore[no-untyped-def]
        pings.append(1)
        return ping(dbapi_connection)

    return counted


def test_a_connection_dropped_while_it_rested_is_replaced_before_a_request_uses_it(
    pooled, make_client, database_url, monkeypatch
):
    client = make_client(grant_types=["client_credentials"])
    assert _client_credentials(pooled, client)[0] == 200  # the pool now holds a connection
    assert _drop_the_pools_connections(database_url) >= 1

    monkeypatch.setattr(idp.db, "PING_AFTER_IDLE", 0.0)  # it has rested long enough
    pings = _count_pings(pooled, monkeypatch)
    status, body = _client_credentials(pooled, client)

    assert status == 200, body
    assert body["token_type"] == "Bearer"
    assert len(pings) == 1  # the dropped connection failed its ping and was replaced


def test_a_connection_in_steady_use_is_taken_without_a_ping(pooled, make_client, monkeypatch):
    client = make_client(grant_types=["client_credentials"])
    monkeypatch.setattr(idp.db, "PING_AFTER_IDLE", 60.0)  # however slow this machine is
    pings = _count_pings(pooled, monkeypatch)

    answers = [_client_credentials(pooled, client)[0] for _ in range(5)]

    assert answers == [200] * 5
    assert pings == []
