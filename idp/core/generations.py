"""Change counters that every process reads: how a process knows its cached copy of some rows
(the clients, the registered resources) is stale, whichever process or command changed them.

One `Generation` row per kind of cached thing. `watch(model, name)` bumps the counter `name`
in the same transaction as any change to a `model` row made through the ORM: a flush that
adds, changes or deletes one, and a bulk `update()`/`delete()` of the model run on a session
(unless run with `execution_options(idp_cache_neutral=True)`, for a column no cache holds).
So the new count is visible exactly when the change is. Changes by raw SQL behind the ORM's
back are not seen; the application makes none.

`Cache` keeps values computed from those rows while the counter reads the same: it reads the
counters (one SELECT of this small table, once per transaction or, outside one, once per app
context: `in_session`) on every use, or at most every `recheck_seconds`; a change committed
in this process is seen at once.

On PostgreSQL the counters are heard rather than read (idp.core.notices): a trigger notifies
`idp_generation` with a counter's new value in the transaction that moves it, and each
process keeps the values it heard. A request reads the table only while the process's
listener cannot prove it listens, and after a change this process committed, until the
listener has heard it: a change committed elsewhere is seen once its notification arrives.

A hot protocol request (idp.web.lean) may check later: after `defer_checks()`, a kept value
is used at once and the counter it relied on is noted. The counters then come with the
request's own query of a token's family (`with_counters`), or are read before its
transaction commits, or at its end (`verify_deferred`), whichever is first: a round trip
fewer for an introspection or a refresh. Should a counter have moved, `Stale` is raised
before anything is committed or answered, and the request runs again, checking as it goes.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from flask import g, has_app_context
from sqlalchemy import Connection, Select, String, Table, event, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from idp.core import notices
from idp.db import Model, Prepared, db, reading

T = TypeVar("T")
NEUTRAL = "idp_cache_neutral"
_BUMPED = "idp.generations.bumped"
_SEEN = "idp.generations.seen"  # the counters as this transaction (or request) read them
_OUTSIDE = "idp_generations"  # in g: where the counters read outside one are held
_DEFERRED = "idp_generations_deferred"  # in g: counter name -> the value a kept value relied on
_committed: dict[str, int] = {}  # name -> changes committed by this process


class Generation(Model):
    __tablename__ = "idp_generation"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


TABLE: Table = Generation.__table__  # type: ignore[assignment]
_ALL_SQL = "SELECT name, value FROM idp_generation"


def read(connection: Connection, name: str) -> int:
    value = connection.execute(select(TABLE.c.value).where(TABLE.c.name == name)).scalar()
    return int(value or 0)


def in_session(name: str) -> Callable[[], int]:
    """Reads the counter `name` where the app reads (idp.db.reading): every counter in one
    SELECT, once per transaction of the session, or once per app context outside one."""

    def current() -> int:
        return int(_seen().get(name, 0))

    return current


def _holder() -> dict[str, Any]:
    """Where this request's reading of the counters is kept: in the session's transaction,
    or in the app context outside one."""
    registry = db.session.registry
    if registry.has() and registry().in_transaction():
        return registry().info
    holder: dict[str, Any] = g.setdefault(_OUTSIDE, {})
    return holder


def _seen() -> dict[str, int]:
    holder = _holder()
    seen: dict[str, int] | None = holder.get(_SEEN)
    if seen is None:
        seen = _heard_now()
        if seen is not None:
            holder[_SEEN] = seen
            return seen
        # On the driver's own cursor: this runs on most protocol requests, and the SQL
        # layer's statement machinery cost more than the query.
        cursor = reading().connection.cursor()
        try:
            cursor.execute(_ALL_SQL)
            seen = holder[_SEEN] = dict(cursor.fetchall())
        finally:
            cursor.close()
    return seen


class Stale(Exception):
    """A value kept by this process and used by this request was changed elsewhere: the
    request must run again (see the module docstring)."""


def defer_checks() -> None:
    """For the rest of this app context, check the counters late (see the module docstring)."""
    g.setdefault(_DEFERRED, {})


def with_counters(statement: Select[Any]) -> Select[Any]:
    """`statement`, a SELECT of at most one row, with every counter in front of its columns,
    and a row even when it finds none (its own columns NULL then): for `counted`."""
    counters = select(
        *(
            select(TABLE.c.value).where(TABLE.c.name == name).scalar_subquery().label(name)
            for name in _NAMES
        )
    ).subquery("counters")
    found = statement.subquery("found")
    return select(*counters.c, *found.c).select_from(counters.outerjoin(found, true()))


def counted(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row of a `with_counters` statement without its counters. They are this request's
    reading of the counters, and check what it relied on (raises Stale)."""
    counters = {name: int(value or 0) for name, value in zip(_NAMES, row, strict=False)}
    _holder()[_SEEN] = counters
    _compare(counters)
    return row[len(_NAMES) :]


class CountedRead:
    """A SELECT of at most one row (idp.db.Prepared) that brings the counters along while a
    check waits for them (`with_counters`): the request's one round trip does both."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.plain = Prepared(statement)
        self._counted: Prepared | None = None  # made on first use: every counter is watched

    def first(self, connection: Connection, **params: Any) -> tuple[Any, ...] | None:
        if not (has_app_context() and g.get(_DEFERRED)):
            return self.plain.first(connection, **params)
        if _heard_now() is not None:  # the counters are at hand
            verify_deferred()
            return self.plain.first(connection, **params)
        if self._counted is None:
            self._counted = Prepared(with_counters(self.statement))
        row = self._counted.first(connection, **params)
        assert row is not None  # the counters' row is always there
        found = counted(row)
        return found if found[0] is not None else None  # its first column: a primary key


def verify_deferred() -> None:
    """Check now whatever this request relied on unchecked (raises Stale)."""
    if g.get(_DEFERRED):
        _compare(_seen())


def _compare(counters: dict[str, int]) -> None:
    relied_on: dict[str, int] = g.get(_DEFERRED) or {}
    moved = [name for name, value in relied_on.items() if counters.get(name, 0) != value]
    relied_on.clear()
    if moved:
        raise Stale(", ".join(moved))


def bump(connection: Connection, name: str) -> None:
    """Add one to the counter `name`, creating it at a random value: should the row ever be
    deleted, a count started again does not repeat values that caches already hold."""
    moved = connection.execute(
        update(TABLE).where(TABLE.c.name == name).values(value=TABLE.c.value + 1)
    )
    if moved.rowcount == 0:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        connection.execute(
            insert(TABLE)
            .values(name=name, value=secrets.randbits(30))  # 2**30 changes of room in 32 bits
            .on_conflict_do_update(index_elements=[TABLE.c.name], set_={"value": TABLE.c.value + 1})
        )


# The counters as each listener heard them (idp.core.notices): absent until it has read them.
# Each replaced whole, never changed in place: a request may hold the one it took.
_heard: dict[notices.Listener, dict[str, int]] = {}
# The listener's round when this process last moved a counter on its database
_unheard_since: dict[notices.Listener, int] = {}
_unheard_lock = threading.Lock()
CHANNEL = "idp_generation"


def _on_notice(listener: notices.Listener, payload: str) -> None:
    """`name value` (the counter's new value), or `name` alone (its row deleted)."""
    heard = _heard.get(listener)
    if heard is None:
        return
    name, _, value = payload.partition(" ")
    heard = dict(heard)
    if value:
        heard[name] = int(value)
    else:
        heard.pop(name, None)
    _heard[listener] = heard


def _on_listening(listener: notices.Listener, connection: Any) -> None:
    _heard[listener] = dict(connection.execute(_ALL_SQL).fetchall())


notices.subscribe(CHANNEL, _on_notice, _on_listening)


def _heard_now() -> dict[str, int] | None:
    """The counters heard, when they are surely today's: the listener proves it listens, and
    has heard every change this process committed. None: read them."""
    listener = notices.listening()
    if listener is None:
        return None
    unheard = _unheard_since.get(listener)
    if unheard is not None:
        if not listener.confirmed_after(unheard):
            return None
        with _unheard_lock:  # not if another thread committed since
            if _unheard_since.get(listener) == unheard:
                del _unheard_since[listener]
    return _heard.get(listener)


_NAMES: list[str] = []  # every counter watched


def watch(model: type[Model], name: str) -> None:
    """Bump `name` with every ORM change to a `model` row (see the module docstring)."""
    if name not in _NAMES:
        _NAMES.append(name)

    def flushing(session: Session, _context: Any, _instances: Any) -> None:
        added_or_deleted = (*session.new, *session.deleted)
        if any(isinstance(row, model) for row in added_or_deleted) or any(
            isinstance(row, model) and session.is_modified(row) for row in session.dirty
        ):
            _bump_in(session, name)

    def executing(state: ORMExecuteState) -> None:
        if not (state.is_update or state.is_delete) or state.execution_options.get(NEUTRAL):
            return
        if any(mapper.class_ is model for mapper in state.all_mappers):
            _bump_in(state.session, name)

    event.listen(Session, "before_flush", flushing)
    event.listen(Session, "do_orm_execute", executing)


def _bump_in(session: Session, name: str) -> None:
    bump(session.connection(), name)
    session.info.setdefault(_BUMPED, set()).add(name)
    _forget_seen(session)


@event.listens_for(Session, "before_commit")
def _verify_before_commit(_session: Session) -> None:
    if has_app_context():
        verify_deferred()  # nothing is written on the strength of an unchecked value


@event.listens_for(Session, "after_commit")
def _committed_here(session: Session) -> None:
    _forget_seen(session)
    bumped = session.info.pop(_BUMPED, ())
    for name in bumped:
        _committed[name] = _committed.get(name, 0) + 1
    listener = notices.current() if bumped else None
    if listener is not None:
        with _unheard_lock:  # read the counters until the listener heard this
            _unheard_since[listener] = listener.round


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_BUMPED, None)
    _forget_seen(session)


def _forget_seen(session: Session) -> None:
    session.info.pop(_SEEN, None)
    if has_app_context():
        g.pop(_OUTSIDE, None)  # read outside the session's transaction, before this one


class Cache(Generic[T]):
    """Values by key, all dropped when the counter `name` moves. At most `max_entries` kept."""

    def __init__(self, name: str, *, recheck_seconds: float = 0.0, max_entries: int = 10_000):
        self.name = name
        self.recheck_seconds = recheck_seconds
        self.max_entries = max_entries
        self._values: dict[Hashable, T] = {}
        self._generation: int | None = None
        self._local = -1  # _committed[name] when last checked
        self._recheck_at = -math.inf
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T], generation: Callable[[], int]) -> T:
        """The value of `key`, from `load()` unless kept; `generation()` reads the counter."""
        current = self._check(generation)
        try:
            return self._values[key]
        except KeyError:
            pass
        value = load()
        with self._lock:  # not if the counter moved while loading: the value may be old
            if self._generation == current and len(self._values) < self.max_entries:
                self._values[key] = value
        return value

    def peek(self, key: Hashable) -> T | None:
        """The value of `key` if it is kept and no check of the counter is due, else None:
        for callers that would otherwise open a database session only to learn that."""
        if _committed.get(self.name, 0) != self._local or time.monotonic() >= self._recheck_at:
            return None
        return self._values.get(key)

    def _check(self, read_generation: Callable[[], int]) -> int | None:
        local = _committed.get(self.name, 0)
        if local == self._local and time.monotonic() < self._recheck_at:
            return self._generation
        if local == self._local and self._generation is not None and _defers():
            g.get(_DEFERRED)[self.name] = self._generation  # type: ignore[index]
            return self._generation
        generation = read_generation()
        with self._lock:
            self._local = local
            self._recheck_at = time.monotonic() + self.recheck_seconds
            if generation != self._generation:
                self._values = {}
                self._generation = generation
        return generation


def _defers() -> bool:
    """Whether a check may wait: in a request that defers checks, until it reads the counters
    (from then on they are at hand)."""
    return has_app_context() and g.get(_DEFERRED) is not None and _SEEN not in _holder()
