"""Mail the app under test sends, as a real SMTP server (aiosmtpd) received it."""

from __future__ import annotations

import re
import threading
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from urllib.parse import urlsplit

from tests.helpers.waiting import settle


class Inbox:
    """What a real SMTP server (aiosmtpd, on 127.0.0.1) received during the run."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self._changed:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._changed.notify_all()
        return "250 Message accepted"

    def clear(self) -> None:
        with self._changed:
            self.messages.clear()
            self.envelopes.clear()

    def to(self, address: str) -> list[EmailMessage]:
        with self._changed:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, to: str, subject: str = "", timeout: float = 10) -> EmailMessage:
        """The newest message to `to` whose subject contains `subject`; waits for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    m
                    for m in self.messages
                    if to.lower() in str(m["To"]).lower() and subject in str(m["Subject"])
                ]
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no mail to {to} with {subject!r} in {timeout}s; got "
                        f"{[(str(m['To']), str(m['Subject'])) for m in self.messages]}"
                    )
                self._changed.wait(left)

    def wait_for_count(self, to: str, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Wait until `count` messages reached `to` (mail is often sent in the background)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (
                len(found := [m for m in self.messages if to.lower() in str(m["To"]).lower()])
                < count
            ):
                left = deadline - time.monotonic()
                assert left > 0, f"{len(found)} of {count} messages to {to} in {timeout}s"
                self._changed.wait(left)
            return found

    def assert_nothing_to(self, address: str) -> None:
        """No message reached `address`, once the app's background work and mail threads
        have finished (so a delivery still on its way cannot be missed)."""
        settle()
        assert self.to(address) == [], [str(m["Subject"]) for m in self.to(address)]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the message has no plain-text part"
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the message has no HTML part"
    return str(part.get_content())


def link_in(message: EmailMessage, path: str) -> str:
    """The first URL in the plain-text part whose path starts with `path`."""
    for url in re.findall(r"https?://\S+", text_of(message)):
        if urlsplit(url).path.startswith(path):
            return url
    raise AssertionError(f"no link to {path} in:\n{text_of(message)}")
