"""Work done after the answer: for requests whose answer must not depend, even in its
timing, on whether an account exists (password reset, sign-in by email, resending a
verification link). The page is rendered and sent first; looking the account up, issuing its
link and mailing it start `DELAY` seconds after the server closed the response (its last
byte went out), on a thread of their own with a copy of the request's context, so audit rows
keep the IP and user agent. Starting at once would still compete with the end of the answer
for the interpreter; measured on the development server, that showed as about a millisecond.

Work is counted as pending from the moment its response is finished (before a byte of it is
sent) until the work returns, so `wait_idle` cannot miss work whose timer the server has not
started yet: a test that has its answer can wait for what the answer set going, and then
check what it did or did not do (send no mail, say).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import after_this_request, copy_current_request_context
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

DELAY = 0.2  # seconds; mail may wait that long, a person's answer may not

_pending = 0  # work scheduled or running in this process
_changed = threading.Condition()


def wait_idle(timeout: float) -> bool:
    """Wait until no work of `after_answering` is scheduled or running in this process;
    False if some still is after `timeout` seconds."""
    with _changed:
        return _changed.wait_for(lambda: _pending == 0, timeout)


def _count(change: int) -> None:
    global _pending
    with _changed:
        _pending += change
        _changed.notify_all()


def after_answering(work: Callable[..., None], *args: Any) -> None:
    """Run `work(*args)` once this request's response has been sent; failures are logged."""

    @copy_current_request_context
    def work_in_context() -> None:
        try:
            work(*args)
        except Exception:  # the person already has their answer; nobody else to tell
            log.exception("%s failed after the response", work.__name__)

    def run() -> None:
        try:
            work_in_context()
        finally:
            _count(-1)  # after the context ended: its database session is closed by now

    def start() -> None:
        timer = threading.Timer(DELAY, run)
        timer.daemon = True
        try:
            timer.start()
        except BaseException:
            _count(-1)
            raise

    @after_this_request
    def schedule(response: Response) -> Response:
        _count(+1)
        response.call_on_close(start)
        return response
