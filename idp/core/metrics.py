"""Prometheus metrics: the counters and the histogram every layer adds to, and the scrape.

Every label has a bounded set of values (endpoint names, grant types, outcomes): no user,
email, IP or client_id appears in a label. The metrics are counted in each process; the
scrape reads this process's registry, or, when `PROMETHEUS_MULTIPROC_DIR` is set (several
worker processes), the files every process of the server writes into that folder.

Serving /metrics, and timing requests, is the web layer's (idp.web.metrics).
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections import deque

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "idp_http_request_duration_seconds",
    "Time to answer an HTTP request, by Flask endpoint, method and status code.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TOKENS_ISSUED = Counter(
    "idp_tokens_issued",
    "Successful token endpoint answers, by grant type.",
    ["grant_type"],
)
SIGN_INS = Counter(
    "idp_sign_ins",
    "Sign-in steps by outcome: success, wrong_password, second_factor_needed, "
    "verification_needed, second_factor_failed, passkey_failed, locked.",
    ["outcome"],
)
RATE_LIMITED = Counter(
    "idp_rate_limited_requests",
    "Requests refused by a rate limit, by Flask endpoint.",
    ["endpoint"],
)

# Audit events that end a sign-in step, and the outcome each one counts as.
AUDITED_OUTCOMES = {
    "sign_in": "success",
    "sign_in_failed": "wrong_password",
    "second_factor_failed": "second_factor_failed",
    "passkey_failed": "passkey_failed",
}
# The histogram's series by (endpoint, method, status): a bounded set, each looked up once.
_timers: dict[tuple[str, str, int], Histogram] = {}
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
KNOWN_GRANTS = frozenset(
    {
        "authorization_code",
        "client_credentials",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    }
)


class _Timings:
    """Request timings queued in this process and added to the histogram once a second, by a
    thread of their own, and before each scrape this process answers.

    An observation written straight away costs two writes into the histogram's values (in
    multiprocess mode, two memory-mapped files under a lock): about a fifth of the cost of a
    JWKS answer. Queuing one is an append; the thread sums a second's worth into each
    series at once. So another process's requests reach a scrape up to FLUSH_SECONDS late,
    and a process that is killed loses at most its last second of timings.
    """

    def __init__(self) -> None:
        self.bounds = list(REQUEST_SECONDS._upper_bounds)  # ends with +Inf
        self.queue: deque[tuple[tuple[str, str, int], float]] = deque()
        self.flusher: threading.Thread | None = None
        self.lock = threading.Lock()  # one flush at a time
        os.register_at_fork(after_in_child=self._forked)

    def add(self, key: tuple[str, str, int], seconds: float) -> None:
        self.queue.append((key, seconds))
        if self.flusher is None:
            self._start()

    def flush(self) -> None:
        with self.lock:
            sums: dict[tuple[str, str, int], list[float]] = {}  # counts by bucket, then sum
            for _ in range(len(self.queue)):
                key, seconds = self.queue.popleft()
                row = sums.get(key)
                if row is None:
                    row = sums[key] = [0.0] * (len(self.bounds) + 1)
                row[bisect.bisect_left(self.bounds, seconds)] += 1  # seconds <= bound
                row[-1] += seconds
            for key, row in sums.items():
                timer = _timers.get(key)
                if timer is None:  # once per series: `labels()` is the costly part
                    timer = _timers[key] = REQUEST_SECONDS.labels(key[0], key[1], str(key[2]))
                timer._sum.inc(row[-1])
                for bucket, count in enumerate(row[:-1]):
                    if count:
                        timer._buckets[bucket].inc(count)

    def _start(self) -> None:
        with self.lock:
            if self.flusher is None:
                self.flusher = threading.Thread(target=self._run, name="metrics", daemon=True)
                self.flusher.start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def _forked(self) -> None:
        self.queue = deque()
        self.flusher = None
        self.lock = threading.Lock()


FLUSH_SECONDS = 1.0
_timings = _Timings()


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """One answered request; an unknown method counts as `other`, no endpoint as `none`."""
    key = (endpoint or "none", method if method in KNOWN_METHODS else "other", status)
    _timings.add(key, seconds)


def token_issued(grant_type: str | None) -> None:
    TOKENS_ISSUED.labels(grant_type if grant_type in KNOWN_GRANTS else "other").inc()


def sign_in(outcome: str) -> None:
    SIGN_INS.labels(outcome).inc()


def audited(event: str) -> None:
    """An audit event was recorded: count it when it is the outcome of a sign-in step."""
    outcome = AUDITED_OUTCOMES.get(event)
    if outcome is not None:
        SIGN_INS.labels(outcome).inc()


def rate_limited(endpoint: str | None) -> None:
    RATE_LIMITED.labels(endpoint or "none").inc()


def scrape() -> tuple[bytes, str]:
    """The text exposition of every metric, and its content type."""
    _timings.flush()
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
