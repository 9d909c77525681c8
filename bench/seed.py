"""Seed a benchmark database with many users and tokens, to show the hot paths stay flat.

    DATABASE_URL=postgresql://... python -m bench.seed --users 1000000 --tokens 10000000

Adds `--users` users (`seed<N>@example.com`, all with the password `--password`, verified)
and `--tokens` token families, each with one refresh token `seed-refresh-<N>` stored as its
digest, spread over the users and issued to one new confidential client (printed as JSON with
its secret). The refresh tokens are predictable: a benchmark database only, never one that
serves people. On PostgreSQL rows go in through COPY, elsewhere through multi-row INSERTs, in
batches of `--batch`; indexes stay in place, so the figures are those of a live database.
Settings come from the environment, as for `idp` (the schema must be upgraded first).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from idp.app import create_app
from idp.core.security import digest
from idp.db import db, dispose
from idp.identity.models import User
from idp.identity.passwords import hash_password
from idp.oauth.clients import ClientSpec, create_client
from idp.oauth.models import RefreshToken, TokenFamily
from idp.settings import Settings

SCOPE = "openid profile email offline_access"
REFRESH_PREFIX = "seed-refresh-"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _arguments(argv)
    with create_app(Settings.from_env()).app_context():
        try:
            result = _seed(args)
        finally:  # close its connections now, not whenever the app is collected
            db.session.remove()
            dispose()  # every pool: the ORM's and the reads'
    print(json.dumps(result, indent=2))
    return result


def _seed(args: argparse.Namespace) -> dict[str, Any]:
    """Create the client, then load the rows; the caller closes the pools."""
    client, secret = create_client(
        ClientSpec(
            name="Seeded benchmark client",
            redirect_uris=["http://127.0.0.1:9/cb"],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            first_party=True,
        )
    )
    engine = db.engine
    first_user = _next_id(engine)
    password_hash = hash_password(args.password)
    _load(engine, User.__table__, _users(first_user, args.users, password_hash), args.batch)
    families = _families(client.id, first_user, args.users, args.tokens, args.start)
    _load(engine, TokenFamily.__table__, families, args.batch)
    refresh_rows = _refresh_tokens(args.tokens, args.start)
    _load(engine, RefreshToken.__table__, refresh_rows, args.batch)
    _fix_sequences(engine)
    _analyze(engine)
    result = {
        "client_id": client.client_id,
        "client_secret": secret,
        "first_user_id": first_user,
        "users": args.users,
        "tokens": args.tokens,
        "refresh_token_example": f"{REFRESH_PREFIX}{args.start}",
    }
    return result


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--tokens", type=int, default=10_000_000)
    parser.add_argument("--password", default="seed-password-0123456789")
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--start", type=int, default=0, help="first token number (re-runs)")
    return parser.parse_args(argv)


def _next_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.max(User.id), 0))).scalar_one()) + 1


def _users(first: int, count: int, password_hash: str) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    for user_id in range(first, first + count):
        yield {
            "id": user_id,
            "email": f"seed{user_id}@example.com",
            "name": f"Seed {user_id}",
            "password_hash": password_hash,
            "is_admin": False,
            "email_verified_at": now,
            "created_at": now,
            "updated_at": now,
        }


def _families(
    client_id: int, first_user: int, users: int, count: int, start: int
) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    for n in range(start, start + count):
        yield {
            "id": _family_id(n),
            "client_id": client_id,
            "user_id": first_user + n % max(users, 1),
            "session_id": None,
            "scope": SCOPE,
            "auth_time": now,
            "acr": None,
            "amr": ["pwd"],
            "claims": None,
            "created_at": now,
            "expires_at": now + timedelta(days=30),
            "revoked_at": None,
            "resources": [],
        }


def _refresh_tokens(count: int, start: int) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    for n in range(start, start + count):
        yield {
            "token_hash": digest(f"{REFRESH_PREFIX}{n}"),
            "family_id": _family_id(n),
            "created_at": now,
            "expires_at": now + timedelta(days=30),
            "rotated_at": None,
            "successor": None,
            "successor_until": None,
        }


def _family_id(n: int) -> str:
    return f"seed{n:x}"


def _load(engine: Engine, table: Any, rows: Iterator[dict[str, Any]], batch: int) -> None:
    if engine.dialect.name == "postgresql":
        _copy(engine, table, rows)
        return
    chunk: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                connection.execute(insert(table), chunk)
                chunk = []
        if chunk:
            connection.execute(insert(table), chunk)


def _copy(engine: Engine, table: Any, rows: Iterator[dict[str, Any]]) -> None:
    """PostgreSQL COPY through psycopg: one statement streams every row."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        first = next(rows, None)
        if first is None:
            return
        columns = list(first)
        names = ", ".join(f'"{name}"' for name in columns)
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # type: ignore[attr-defined]
            for row in _chain(first, rows):
                copy.write_row([_copy_value(row[name]) for name in columns])
        raw.commit()
    finally:
        raw.close()


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _copy_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


def _fix_sequences(engine: Engine) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the rows."""
    if engine.dialect.name != "postgresql":
        return
    statement = (
        "SELECT setval(pg_get_serial_sequence('\"{0}\"', 'id'), "
        '(SELECT COALESCE(MAX(id), 1) FROM "{0}"))'
    )
    with engine.begin() as connection:
        for table in ("user", "oauth_refresh_token"):
            connection.execute(text(statement.format(table)))


def _analyze(engine: Engine) -> None:
    """Table statistics for the planner, as autovacuum would gather them on a live database
    some time after a load: without them PostgreSQL plans for empty tables (sequential scans
    where an index serves)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        for table in ("user", "oauth_token_family", "oauth_refresh_token"):
            connection.execute(text(f'ANALYZE "{table}"'))


if __name__ == "__main__":
    main()
