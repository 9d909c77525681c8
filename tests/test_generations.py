"""The change counters behind the hot paths' caches (idp.core.generations): every ORM change to
a client moves the `clients` counter in its own transaction, whatever form it takes, so a
cached client is never served after a change; writing "last used" alone does not."""

from __future__ import annotations

from sqlalchemy import create_engine, delete, select, update

from idp.core import generations
from idp.db import db
from idp.oauth.clients import cached_client, mark_used
from idp.oauth.models import Client


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

    with app.app_context():
        assert cached_client(client.client_id).name == "After"
