"""Work done after the answer: for requests whose answer must not depend, even in its
timing, on whether an account exists (password reset, sign-in by email, resending a
verification link). The page is rendered and sent first; looking the account up, issuing its
link and mailing it start `DELAY` seconds after the server closed the response (its last
byte went out), on a thread of their own with a copy of the request's context, so audit rows
keep the IP and user agent. Starting at once would still compete with the end of the answer
for the interpreter; measured on the development server, that showed as about a millisecond.
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


def after_answering(work: Callable[..., None], *args: Any) -> None:
    """Run `work(*args)` once this request's response has been sent; failures are logged."""

    @copy_current_request_context
    def run() -> None:
        try:
            work(*args)
        except Exception:  # the person already has their answer; nobody else to tell
            log.exception("%s failed after the response", work.__name__)

    def start() -> None:
        timer = threading.Timer(DELAY, run)
        timer.daemon = True
        timer.start()

    @after_this_request
    def schedule(response: Response) -> Response:
        response.call_on_close(start)
        return response
