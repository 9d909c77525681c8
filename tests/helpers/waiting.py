"""Waiting for a condition, never for a fixed time.

`wait_until` polls a predicate until it holds or a deadline passes. `settle` waits until the
app's work after the answer (`idp.web.background`) has ended and the mail it or a request
sent on a thread of its own (`Mailer.send_later`, threads named "mail") is delivered, so a
test can then assert that some mail was not sent. `heard` waits until this process has heard
every change committed so far (idp.core.notices), as another process's change is seen;
`listener_away` ends the listener's connection and waits until the process knows it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Protocol, TypeVar

from flask import Flask
from sqlalchemy import text

from idp.core import notices
from idp.db import db
from idp.web import background

T = TypeVar("T")

POLL = 0.02  # seconds between two looks


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, what: str = "") -> T:
    """The first truthy value of `predicate()`, asked every 20 ms for up to `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout}s: {what or predicate}")
        time.sleep(POLL)  # a poll interval: the loop ends on the condition


def heard(app: Flask, timeout: float = 5.0) -> bool:
    """Wait until this process has heard every change committed before the call (a round of
    its listener begun after it has ended). False, at once, where the process reads the
    change counters instead (SQLite, IDP_DATABASE_NOTIFICATIONS off)."""
    with app.app_context():
        listener = notices.app_notices().listener()
    if listener is None:
        return False
    now = listener.round
    wait_until(lambda: listener.confirmed_after(now), timeout, "the listener heard it")
    return True


def listener_away(app: Flask) -> notices.Listener:
    """End this process's listener's connection, as a server restart or a dropped network
    would, and wait until the process no longer trusts what it heard."""
    with app.app_context():
        listener = notices.app_notices().listener()
        ended = db.session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": notices.APPLICATION_NAME},
        ).all()
        db.session.rollback()
    assert listener is not None and ended
    wait_until(lambda: not listener.fresh(), 5, "the listener knows it is away")
    return listener


def settle(timeout: float = 10.0) -> None:
    """Wait until no work after an answer is pending and no mail is being delivered."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if not background.wait_idle(max(0.0, left)):
            raise AssertionError(f"work after the answer still running after {timeout}s")
        delivering = [t for t in threading.enumerate() if t.name == "mail"]
        if not delivering:
            # A mail thread starts before its work or request ends, so none can start now.
            return
        for thread in delivering:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise AssertionError(f"mail still being delivered after {timeout}s")


class _Inbox(Protocol):
    def to(self, address: str) -> list[EmailMessage]: ...


def assert_no_mail_to(inbox: _Inbox, address: str, timeout: float = 10.0) -> None:
    """No message reached `address`, once everything the app set going has finished."""
    settle(timeout)
    found = inbox.to(address)
    assert found == [], [str(m["Subject"]) for m in found]
