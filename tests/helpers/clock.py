"""A movable clock: time passes for the app under test without the test waiting for it.

The `clock` fixture runs a test on time-machine's clock, which starts at the real now and
ticks with it; `clock.advance(seconds)` jumps ahead. The jump moves `time.time()`,
`datetime.now()` and their kin in every thread of this process, so the product, Authlib and
joserfc all see it, and so does the HTTP client's cookie jar (a cookie whose Max-Age has
passed is no longer sent, as in a browser).

It does not move `time.monotonic()` (timeouts, caches that recheck "within a second"), other
processes (granian, `idp` run as a command, Chromium), nor Redis: a value whose expiry Redis
decides still takes real time to go. After advancing past such an expiry, wait for its effect
with `tests.helpers.waiting.wait_until`; on the in-process store that wait ends at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine


class Clock:
    """The test's view of the moved clock."""

    def __init__(self, traveller: time_machine.Traveller) -> None:
        self._traveller = traveller

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        """Jump `seconds` ahead; the clock keeps ticking from there."""
        assert seconds >= 0, "the clock only moves forward"
        self._traveller.shift(timedelta(seconds=seconds))

    def advance_past(self, moment: datetime, by: float = 0.1) -> None:
        """Jump to `by` seconds after `moment` (if that is still ahead)."""
        self.advance(max(0.0, (moment - self.now()).total_seconds() + by))


@pytest.fixture
def clock() -> Iterator[Clock]:
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        yield Clock(traveller)


TOTP_STEP = 30  # seconds (RFC 6238 §4, X = 30)


@pytest.fixture
def steady_totp_step() -> Iterator[None]:
    """Start the test at the beginning of a 30-s authenticator step, so a code computed during
    the test is checked by the server in the step it was made for. Moves the clock forward by
    at most one step (never back: signing keys and sessions only see time pass)."""
    left = TOTP_STEP - time.time() % TOTP_STEP
    with time_machine.travel(time.time() + left + 0.05, tick=True):
        yield
