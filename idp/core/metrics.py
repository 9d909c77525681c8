"""Prometheus metrics: the counters and the histogram every layer adds to, and the scrape.

Every label has a bounded set of values (endpoint names, grant types, outcomes): no user,
email, IP or client_id appears in a label. The metrics are counted in each process; the
scrape reads this process's registry, or, when `PROMETHEUS_MULTIPROC_DIR` is set (several
worker processes), the files every process of the server writes into that folder.

Serving /metrics, and timing requests, is the web layer's (idp.web.metrics).
"""

from __future__ import annotations

import os

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


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """One answered request; an unknown method counts as `other`, no endpoint as `none`."""
    key = (endpoint or "none", method if method in KNOWN_METHODS else "other", status)
    timer = _timers.get(key)
    if timer is None:  # once per series: `labels()` costs more than the observation
        timer = _timers[key] = REQUEST_SECONDS.labels(key[0], key[1], str(status))
    timer.observe(seconds)


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
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
