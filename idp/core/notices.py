"""PostgreSQL notifications (LISTEN/NOTIFY) heard by every process: how a process learns that
rows it keeps a copy of changed, without asking the database on every request.

One `Listener` per process and database: a thread with a connection of its own, in autocommit,
that LISTENs on the channels subscribers named (`subscribe`). A trigger sends the notification
in the changing transaction (idp/migrations), so it is delivered when, and only if, the change
commits, whichever process, command or SQL made it. Subscribers keep what they hear per
listener: a process serving two databases (two apps) never mixes them.

The listener proves it is listening: every HEARTBEAT seconds without a notification it makes
a round trip, and a process trusts what it heard only while the last proof is under LEASE
seconds old (`Listener.fresh`). A connection that broke, or a network that stopped answering,
makes it stale within LEASE; a subscriber then reads the database as if nothing were heard,
until the listener has connected again and called every subscriber's `reset` (notifications
sent while it was away are lost: what was heard before is forgotten).

`Listener.round` counts the proofs: a notification sent before a round began is heard by the
time that round ends (the server delivers it before the round's answer). A process that
commits a change itself waits for that (`confirmed_after`) before it trusts what it heard
again, or forgets what it kept when it commits (`after_local_commit`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session

HEARTBEAT = 0.25  # seconds without a notification before the listener proves it listens
LEASE = 1.0  # seconds a proof is trusted
RETRY = 1.0  # seconds between attempts to connect again
APPLICATION_NAME = "idp-notices"  # the listener's connections, as pg_stat_activity shows them

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscriber:
    channel: str
    on_notice: Callable[[Listener, str], None]  # the payload, in the listener's thread
    # The listener (re)connected and listens: read afresh what notifications will tell from
    # now on, on its connection (a psycopg connection, in autocommit)
    reset: Callable[[Listener, Any], None]


_subscribers: list[Subscriber] = []


def subscribe(
    channel: str,
    on_notice: Callable[[Listener, str], None],
    reset: Callable[[Listener, Any], None],
) -> None:
    """Hear every notification on `channel` (a module does this once, at import)."""
    _subscribers.append(Subscriber(channel, on_notice, reset))


_CHANGED = "idp.notices.changed"  # in a session's info: the rows changed, by callback
Changed = list[tuple[Any, bool]] | None  # (row, deleted) each; None: a bulk change, rows unknown


def after_local_commit(
    models: tuple[type, ...], forget: Callable[[Listener, Changed], None]
) -> None:
    """Call `forget(listener, changed)` after this process commits changes to rows of `models`
    made through the ORM session (rows changed or deleted by a flush; None for a bulk update or
    delete), before the listener hears them: the process's next request must not find what
    it kept before the change. A new row changes nothing kept."""

    def flushing(session: Session, _context: Any, _instances: Any) -> None:
        deleted = [(row, True) for row in session.deleted if isinstance(row, models)]
        changed = [
            (row, False)
            for row in session.dirty
            if isinstance(row, models) and session.is_modified(row)
        ]
        if deleted or changed:
            due = session.info.setdefault(_CHANGED, {})
            if due.get(forget, []) is not None:
                due[forget] = [*due.get(forget, []), *deleted, *changed]

    def executing(state: ORMExecuteState) -> None:
        if (state.is_update or state.is_delete) and any(
            issubclass(mapper.class_, models) for mapper in state.all_mappers
        ):
            state.session.info.setdefault(_CHANGED, {})[forget] = None

    event.listen(Session, "before_flush", flushing)
    event.listen(Session, "do_orm_execute", executing)


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    due = session.info.pop(_CHANGED, {})
    listener = current() if due else None
    if listener is not None:
        for forget, changed in due.items():
            forget(listener, changed)


@event.listens_for(Session, "after_rollback")
def _nothing_changed(session: Session) -> None:
    session.info.pop(_CHANGED, None)


class Listener:
    """The listening thread of one process on one database (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.round = 0  # proofs completed since the process started
        self._fresh_until = 0.0
        self._thread = threading.Thread(target=self._run, name="idp-notices", daemon=True)
        self._thread.start()

    def fresh(self) -> bool:
        """Whether everything committed more than a notification's delivery ago was heard."""
        return time.monotonic() < self._fresh_until

    def confirmed_after(self, round_: int) -> bool:
        """Whether a round that began after `round_` was counted has ended: whatever was
        committed before reading `round_` has been heard."""
        return self.round > round_ + 1 and self.fresh()

    def _run(self) -> None:
        while True:
            try:
                self._listen()
            except Exception:  # a broken connection, a server restarting: connect again
                log.warning("database notifications interrupted; reading instead", exc_info=True)
            self._fresh_until = 0.0
            time.sleep(RETRY)  # a pause between attempts, not a wait for a condition

    def _listen(self) -> None:
        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        import psycopg  # only on PostgreSQL, the one server with notifications here

        # A dead peer is noticed within seconds, not TCP's minutes (LEASE covers the wait).
        named = {
            **kwargs,
            "autocommit": True,
            "application_name": APPLICATION_NAME,
            "connect_timeout": 10,
            "tcp_user_timeout": 10_000,
        }
        with psycopg.connect(*args, **named) as connection:
            by_channel: dict[str, list[Subscriber]] = {}
            for subscriber in _subscribers:
                by_channel.setdefault(subscriber.channel, []).append(subscriber)
            for channel in by_channel:
                connection.execute(f'LISTEN "{channel}"')
            for subscriber in _subscribers:  # what was heard before may have changed since
                subscriber.reset(self, connection)
            # Notifications that came during the resets are heard next, after what they read.
            while True:
                self._prove(connection, by_channel)
                self._hear(connection, by_channel, HEARTBEAT)

    def _prove(self, connection: Any, by_channel: dict[str, list[Subscriber]]) -> None:
        began = time.monotonic()
        counted = self.round + 1
        connection.execute("SELECT 1")
        self._hear(connection, by_channel, 0)  # those delivered with the answer
        self.round = counted
        self._fresh_until = began + LEASE

    def _hear(
        self, connection: Any, by_channel: dict[str, list[Subscriber]], timeout: float
    ) -> None:
        for notice in connection.notifies(timeout=timeout):
            for subscriber in by_channel.get(notice.channel, ()):
                subscriber.on_notice(self, notice.payload)


_listeners: dict[tuple[int, str], Listener] = {}
_lock = threading.Lock()
EXTENSION = "idp.notices"


class Notices:
    """An app's way to this process's listener: none on SQLite, or when
    IDP_DATABASE_NOTIFICATIONS is off (a connection pooler that drops LISTEN)."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self._url = engine.url.render_as_string(hide_password=False) if engine else ""

    def listener(self) -> Listener | None:
        """This process's listener, started on first use (a worker forked from a process
        that had one starts its own)."""
        if self.engine is None:
            return None
        key = (os.getpid(), self._url)
        found = _listeners.get(key)
        if found is None:
            with _lock:
                found = _listeners.get(key)
                if found is None:
                    found = _listeners[key] = Listener(self.engine)
        return found


def app_notices() -> Notices:
    notices: Notices = current_app.extensions[EXTENSION]
    return notices


def current() -> Listener | None:
    """The listener of the app in context, if it has one."""
    return app_notices().listener() if has_app_context() else None


def listening() -> Listener | None:
    """The listener of the app in context while what it heard can be trusted, else None."""
    listener = current()
    return listener if listener is not None and listener.fresh() else None


def init_app(app: Flask, engine: Engine, enabled: bool) -> None:
    listens = enabled and engine.dialect.name == "postgresql"
    app.extensions[EXTENSION] = Notices(engine if listens else None)
