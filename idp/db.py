"""The database handle, the declarative base and migrations.

Models subclass `Model`; the schema changes only through Alembic revisions in
`idp/migrations/versions`. SQLite runs in WAL mode (`synchronous=NORMAL`) with foreign keys
enforced.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, g, has_app_context
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    ClauseElement,
    Connection,
    DateTime,
    MetaData,
    TypeDecorator,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction
from sqlalchemy.sql.compiler import SQLCompiler

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


class Model(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Model)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


_READING = "idp_reading"  # the app context's connection for reads (`reading`)
# A database server's connections for `reading`: a pool of their own, in autocommit from the
# moment they open (init_app). Reads run with no BEGIN before them and no ROLLBACK after, two
# round trips fewer, and no mode is switched on at checkout and back at checkin (with the
# ORM's pool, that and the reset took the checkout and checkin from about 14 to 24 us of
# CPU). The ORM's connections never run in autocommit. SQLite's driver begins no transaction
# for a read: there the ORM's engine serves.
_READS = "idp_reads"


def reading() -> Connection:
    """A connection for a few reads in Core: the ORM session's while it is in a transaction
    (so the reads see its uncommitted changes); otherwise one held by the app context for
    reads only, given back to the pool when the session begins a transaction (no request
    holds two connections at once, however few the pool has) or when the context ends.

    Beginning and closing a session costs about 50 us in Python, more than the reads of a
    hot protocol request (idp.web.lean); a connection checked out of the pool costs a fifth
    of that. Each statement on it sees what is committed when it runs (PostgreSQL: a pool in
    autocommit, `_READS`; SQLite's reads outside a transaction)."""
    registry = db.session.registry
    if registry.has():
        session = registry()
        if session.in_transaction():
            return session.connection()
    connection: Connection | None = g.get(_READING)
    if connection is None:
        engines = db.engines
        connection = engines.get(_READS, engines[None]).connect()
        setattr(g, _READING, connection)
    return connection


@contextmanager
def writes() -> Iterator[Connection]:
    """A connection for a few Core writes that land together, without the ORM session (its
    begin and commit cost more than a refresh token's two writes). Inside the session's
    transaction if it has begun one (its commit lands them with the rest); otherwise on the
    reading connection (`reading`), committed when the block ends, rolled back if it raises.
    On PostgreSQL that connection is in autocommit, so there every statement lands on its
    own: writes that must land together go in one statement (idp.oauth.rotation)."""
    registry = db.session.registry
    if registry.has() and registry().in_transaction():
        yield registry().connection()
        return
    connection = reading()
    try:
        yield connection
    except BaseException:
        connection.connection.rollback()
        raise
    connection.connection.commit()


def commit_session() -> None:
    """Commit the ORM session, if it began a transaction (a request that wrote in Core only,
    through `writes`, has none to commit, and creates no session to find out)."""
    registry = db.session.registry
    if registry.has() and registry().in_transaction():
        registry().commit()


class Prepared:
    """A Core statement run on the driver's own cursor: its SQL compiled once per dialect,
    its parameters and columns converted by their types' own processors, as the SQL layer
    would. For the few statements of every hot protocol request, where that layer's
    per-statement machinery cost more than the query (about 35 us on SQLite, 70 us on
    PostgreSQL). Its parameters are the statement's named `bindparam`s, each given when it
    runs; values written into the statement (a LIMIT, a NULL it sets) are bound as built."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def first(self, connection: Connection, **params: Any) -> tuple[Any, ...] | None:
        """The first row of a SELECT, or None."""
        compiled = self._by_dialect.get(connection.dialect.name) or self._compile(connection)
        row = _execute(connection, compiled.sql, compiled.arguments(params), fetch=True)
        if row is None:
            return None
        return tuple(
            value if process is None else process(value)
            for process, value in zip(compiled.columns, row, strict=True)
        )

    def run(self, connection: Connection, **params: Any) -> int:
        """Run an INSERT, UPDATE or DELETE in the connection's transaction; the number of
        rows it changed."""
        compiled = self._by_dialect.get(connection.dialect.name) or self._compile(connection)
        return int(_execute(connection, compiled.sql, compiled.arguments(params), fetch=False))

    def _compile(self, connection: Connection) -> _Compiled:
        dialect = connection.dialect
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        selected = getattr(self.statement, "selected_columns", [])
        self._by_dialect[dialect.name] = _Compiled(
            sql=compiled.string,
            order=tuple(compiled.positiontup or ()) if compiled.positional else None,
            binds=dict(compiled._bind_processors),
            constants={  # a value given when the statement was built: a LIMIT, a NULL set
                name: bind.value for bind, name in compiled.bind_names.items() if not bind.required
            },
            # What the SQL layer applies to each column of a row.
            columns=[column.type._cached_result_processor(dialect, None) for column in selected],
        )
        return self._by_dialect[dialect.name]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # the parameters' order, for a positional driver
    binds: dict[str, Any]  # parameter name -> its type's bind processor
    constants: dict[str, Any]
    columns: list[Any]  # result processor (or None) by column

    def arguments(self, params: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        if self.constants:
            params = {**self.constants, **params}
        if self.binds:
            params = {
                name: value if name not in self.binds else self.binds[name](value)
                for name, value in params.items()
            }
        return params if self.order is None else tuple(params[name] for name in self.order)


_CURSOR = "idp_cursor"  # a pooled PostgreSQL connection's kept cursor (`_execute`)


def _execute(connection: Connection, sql: str, arguments: Any, *, fetch: bool) -> Any:
    """Run one statement on the driver's cursor: its first row (`fetch`) or its row count.

    A PostgreSQL connection keeps one cursor for these statements, in its pool entry (which
    forgets it when the connection is replaced): psycopg reads a whole result when the
    statement runs, so the cursor holds nothing between statements, and making one costs
    about a quarter of a short read. SQLite's cursor steps through a result inside the
    database, so each statement gets a new one, closed after it."""
    pooled = connection.connection
    if connection.dialect.name == "postgresql":
        driver = pooled.dbapi_connection
        cursor = pooled.info.get(_CURSOR)
        if cursor is None or cursor.connection is not driver:
            cursor = pooled.info[_CURSOR] = pooled.cursor()
        cursor.execute(sql, arguments)
        return cursor.fetchone() if fetch else cursor.rowcount
    cursor = pooled.cursor()
    try:
        cursor.execute(sql, arguments)
        return cursor.fetchone() if fetch else cursor.rowcount
    finally:
        cursor.close()


def _close_reading(_error: BaseException | None = None) -> None:
    connection: Connection | None = g.pop(_READING, None)
    if connection is not None:
        connection.close()


@event.listens_for(Session, "after_transaction_create")
def _session_begins(_session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and has_app_context():
        _close_reading()  # before the session takes a connection of its own


def init_app(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        binds = app.config.setdefault("SQLALCHEMY_BINDS", {})
        # Never a transaction to end on checkin: no reset (a ROLLBACK) either.
        binds[_READS] = {"url": url, "isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}
    db.init_app(app)
    app.teardown_appcontext(_close_reading)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name != "sqlite":  # a file needs no ping
                _ping_when_idle(engine)


def dispose() -> None:
    """Close every connection the app's pools hold (the ORM's and, on a database server, the
    reads' pool): for an app that is done, or a process about to use another database."""
    for engine in db.engines.values():
        engine.dispose()


PING_AFTER_IDLE = 1.0  # seconds a pooled connection rests before it is pinged on checkout


def _ping_when_idle(engine: Engine) -> None:
    """Ping a server connection on checkout if it rested in the pool more than
    PING_AFTER_IDLE seconds, and replace it if the ping fails: one that the server, a proxy
    or a firewall dropped while it was idle never fails a request. One in steady use is not
    pinged (a ping is a round trip, about 80 us of a worker's CPU on PostgreSQL, a sixth of
    an introspection); should the server go away under load, the request that meets the
    dropped connection fails and the pool drops every connection older than it."""

    @event.listens_for(engine, "connect")
    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = math.inf  # just opened: not idle yet

    @event.listens_for(engine, "checkin")
    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", -math.inf) <= PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError("the pooled connection was dropped") from error  # retried


def insert_if_absent(model: type[Model], **values: Any) -> None:
    """Insert a row unless one with the same unique key exists, in one statement
    (`INSERT ... ON CONFLICT DO NOTHING`, SQLite and PostgreSQL): parallel requests that
    each found no row do not collide; read the row afterwards. Until the transaction ends it
    holds the write lock (SQLite) or the row's (PostgreSQL, if it inserted)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing())


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL is still crash-safe (a power loss may undo the last commits, never
        # corrupt): it syncs at checkpoints, not on every commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def alembic_config(database_url: str) -> Config:
    # Alembic is imported here, when migrating, not with the app: a server's workers never
    # migrate, and it is about 11 MB of each worker's memory.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Bring the schema to the newest revision."""
    from alembic import command

    check_connection(database_url)
    command.upgrade(alembic_config(database_url), "head")


class DatabaseUnavailable(RuntimeError):
    """The database named by DATABASE_URL cannot be reached; the message says why, in a line."""


def check_connection(database_url: str) -> None:
    """Connect once, so a wrong URL stops the start with one clear line instead of a traceback."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(database_url, connect_args=_connect_timeout(database_url))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"DATABASE_URL: cannot connect to the database: {reason}"
        ) from None
    finally:
        engine.dispose()


def _connect_timeout(database_url: str) -> dict[str, Any]:
    return {"connect_timeout": 5} if database_url.startswith("postgresql") else {}


def ping() -> None:
    """Run one trivial query; raises if the database cannot be reached."""
    db.session.execute(text("SELECT 1"))
