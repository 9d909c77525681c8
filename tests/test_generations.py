"""The change counters behind the hot paths' caches (idp.core.generations): every ORM change to
a client moves the `clients` counter in its own transaction, whatever form it takes, so a
cached client is never served after a change; writing "last used" alone does not.

On the lean path a kept client is checked with the request's own query (an introspection's
token family, a refresh's presented token) or at its end: one round trip, not two. If
another process changed the client meanwhile, the request runs again and answers as the
database says (RFC 6749 §2.3.1: the old secret fails at once, the new one works).

On PostgreSQL the process hears the counters (idp.core.notices, tests/test_notices.py): a
change made elsewhere is seen once heard, so those tests wait for that (`heard`); on SQLite
it is seen by the very next request."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, delete, select, update

from idp.core import generations
from idp.core.security import digest
from idp.db import Prepared, db
from idp.identity.models import User
from idp.oauth.clients import cached_client, mark_used
from idp.oauth.models import Client
from idp.oauth.tokens import Grant, app_tokens
from tests.helpers.waiting import heard

NEW_SECRET = "a-new-secret-for-this-client-0123456789"
GRANTS = ("refresh_token", "client_credentials")


def counter(app) -> int:
    with app.app_context():
        return generations.read(db.session.connection(), "clients")


def test_a_bulk_update_refreshes_the_cached_client(app, make_client):
    client = make_client(name="Before")
    with app.app_context():
        assert cached_client(client.client_id).name == "Before"
    before = counter(app)

    with app.app_context():
        db.session.execute(
            update(Client).where(Client.client_id == client.client_id).values(name="After")
        )
        db.session.commit()

    assert counter(app) != before
    with app.app_context():
        assert cached_client(client.client_id).name == "After"


def test_a_bulk_delete_forgets_the_cached_client(app, make_client):
    client = make_client()
    with app.app_context():
        assert cached_client(client.client_id) is not None
        db.session.execute(delete(Client).where(Client.client_id == client.client_id))
        db.session.commit()
        assert cached_client(client.client_id) is None


def test_a_rolled_back_change_moves_nothing(app, make_client):
    client = make_client(name="Kept")
    before = counter(app)
    with app.app_context():
        db.session.execute(
            update(Client).where(Client.client_id == client.client_id).values(name="Gone")
        )
        db.session.rollback()
    assert counter(app) == before


def test_marking_a_client_used_moves_nothing(app, make_client):
    client = make_client()
    before = counter(app)
    with app.app_context():
        mark_used(cached_client(client.client_id))
        row = db.session.scalars(select(Client).where(Client.client_id == client.client_id))
        assert row.one().last_used_at is not None  # written, yet the cache is kept
    assert counter(app) == before


def test_a_change_committed_by_another_process_is_seen_by_the_next_request(app, make_client):
    """The counters are read outside the session's transaction on the hot paths
    (idp.db.reading): the connection they are read on, back in the pool, holds no old view."""
    client = make_client(name="Before")
    with app.app_context():
        assert cached_client(client.client_id).name == "Before"
    elsewhere = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with elsewhere.begin() as connection:  # another process, as the CLI would be
        table = Client.__table__
        connection.execute(
            update(table).where(table.c.client_id == client.client_id).values(name="After")
        )
        generations.bump(connection, "clients")
    elsewhere.dispose()
    heard(app)

    with app.app_context():
        assert cached_client(client.client_id).name == "After"


def _change_elsewhere(app, client_id: str, secret_hash: str) -> None:
    """As another process would (the CLI, an admin page, another worker): this process's
    record of the changes it committed does not move."""
    elsewhere = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with elsewhere.begin() as connection:
        table = Client.__table__
        connection.execute(
            update(table).where(table.c.client_id == client_id).values(secret_hash=secret_hash)
        )
        generations.bump(connection, "clients")
    elsewhere.dispose()
    heard(app)


def user_tokens(app, make_user, client) -> dict[str, Any]:
    user_id = make_user("ada@example.com")
    with app.app_context():
        grant = Grant(
            client=db.session.scalars(
                select(Client).where(Client.client_id == client.client_id)
            ).one(),
            scope="openid profile offline_access",
            user=db.session.get(User, user_id),
        )
        family = app_tokens().open_family(grant)
        tokens = app_tokens().issue(grant, family, refresh=True)
        db.session.commit()
        return tokens


def introspect(app, client, token: str, secret: str) -> tuple[int, dict[str, Any]]:
    answer = app.test_client().post(
        "/introspect", data={"token": token}, auth=(client.client_id, secret)
    )
    return answer.status_code, answer.get_json()


def count_reads(monkeypatch) -> list[str]:
    """The statements the hot paths run on the driver's cursor, and each separate reading of
    the counters from the database."""
    reads: list[str] = []
    first, connection_for_reads = Prepared.first, generations.reading

    def counted_first(self, connection, **params):  # type: ignore[no-untyped-def]
        reads.append("counted" if "counters" in str(self.statement) else "plain")
        return first(self, connection, **params)

    def counters_read():  # type: ignore[no-untyped-def]
        reads.append("counters")  # only the counters are read there, in the module
        return connection_for_reads()

    monkeypatch.setattr(Prepared, "first", counted_first)
    monkeypatch.setattr(generations, "reading", counters_read)
    return reads


def test_an_introspection_checks_its_kept_client_with_the_tokens_family(
    app, make_user, make_client, monkeypatch
):
    client = make_client()
    tokens = user_tokens(app, make_user, client)
    assert introspect(app, client, tokens["access_token"], client.client_secret)[0] == 200
    listening = heard(app)  # then the counters are at hand, and the family kept
    reads = count_reads(monkeypatch)

    status, body = introspect(app, client, tokens["access_token"], client.client_secret)

    assert (status, body["active"]) == (200, True)
    # One statement: the family with the counters, or the family alone (to be kept) where
    # the counters were heard.
    assert reads == (["plain"] if listening else ["counted"])


def _issued(grant_type: str) -> float:
    value = REGISTRY.get_sample_value("idp_tokens_issued_total", {"grant_type": grant_type})
    return value or 0.0


@pytest.mark.parametrize(
    "endpoint", ["introspection", "refresh", "client_credentials", "revocation"]
)
def test_a_client_changed_by_another_process_is_checked_before_the_answer(
    app, make_user, make_client, snapshot, endpoint
):
    """RFC 6749 §2.3.1: the old secret fails at once, the new one works at once, in a
    process that had the client in its cache; RFC 7662 §2.1 and RFC 6749 §6 and §4.4.2 (a
    refresh and client credentials authenticate the client the same way; RFC 7009 §2.1, a
    revocation too). The refused request stores nothing (its first run, on the old copy, is
    rolled back before it commits) and counts no token."""
    client = make_client(grant_types=["authorization_code", "refresh_token", "client_credentials"])
    tokens = user_tokens(app, make_user, client)
    http = app.test_client()

    def call(secret: str) -> tuple[int, dict[str, Any]]:
        if endpoint == "introspection":
            return introspect(app, client, tokens["access_token"], secret)
        if endpoint == "revocation":  # a write, checked before it commits
            revoke = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
            answer = http.post("/revoke", data=revoke, auth=(client.client_id, secret))
            return answer.status_code, answer.get_json(silent=True) or {}
        data = {"grant_type": "client_credentials"}
        if endpoint == "refresh":
            data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        answer = http.post("/token", data=data, auth=(client.client_id, secret))
        if answer.status_code == 200 and endpoint == "refresh":
            tokens["refresh_token"] = answer.get_json()["refresh_token"]
        return answer.status_code, answer.get_json()

    # The client is now in this process's cache (warmed without revoking, for a revocation).
    if endpoint == "revocation":
        assert introspect(app, client, tokens["access_token"], client.client_secret)[0] == 200
    else:
        assert call(client.client_secret)[0] == 200
    _change_elsewhere(app, client.client_id, digest(NEW_SECRET))

    stored, counted = snapshot(), {grant: _issued(grant) for grant in GRANTS}
    status, body = call(client.client_secret)
    assert (status, body["error"]) == (401, "invalid_client")
    assert snapshot() == stored
    assert {grant: _issued(grant) for grant in GRANTS} == counted
    assert call(NEW_SECRET)[0] == 200
