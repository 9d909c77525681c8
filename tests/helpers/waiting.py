"""Waiting for a condition, never for a fixed time.

`wait_until` polls a predicate until it holds or a deadline passes. `settle` waits until the
app's work after the answer (`idp.web.background`) has ended and the mail it or a request
sent on a thread of its own (`Mailer.send_later`, threads named "mail") is delivered, so a
test can then assert that some mail was not sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Protocol, TypeVar

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
