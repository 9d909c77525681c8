"""Rate limits (Flask-Limiter): counters in Redis when configured, else in this process.

One `Limiter` per app, so tests and processes never share one by accident. If Redis stops
answering, counting falls back to process memory rather than failing the request.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits import RateLimitItemPerMinute

from idp.core import metrics
from idp.settings import Settings


def init_app(app: Flask, settings: Settings) -> Limiter:
    # Short timeouts: a slow Redis must not hold requests; counting falls back to memory.
    options: dict[str, Any] = (
        {"socket_timeout": 0.5, "socket_connect_timeout": 0.5} if settings.redis_url else {}
    )
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        storage_options=options,
        key_prefix=settings.redis_prefix + "limit",
        strategy="moving-window",
        # Retry-After is set on refusals only (idp.web.errors); no rate headers on every answer.
        headers_enabled=False,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        on_breach=_count_refusal,
    )
    app.extensions["idp.limiter"] = limiter
    return limiter


def _count_refusal(_limit: RequestLimit) -> None:
    """A limit refused this request: counted (idp_rate_limited_requests); the 429 follows."""
    metrics.rate_limited(request.endpoint)


def limiter() -> Limiter:
    value: Limiter = current_app.extensions["idp.limiter"]
    return value


def retry_at() -> datetime | None:
    """When the limit that refused this request lets the next one through."""
    current = limiter().current_limit
    if current is None:
        return None
    return datetime.fromtimestamp(current.reset_at, UTC)


def count_per_minute(per_minute: int, *identifiers: str) -> int | None:
    """Count one request against a limit of its own (an API key's): None while within it,
    else the seconds until the next is let through. A store that fails lets it through."""
    item = RateLimitItemPerMinute(per_minute)
    strategy = limiter().limiter
    try:
        if strategy.hit(item, *identifiers):
            return None
        reset = strategy.get_window_stats(item, *identifiers).reset_time
    except Exception:
        return None
    metrics.rate_limited(request.endpoint)
    return max(1, int(reset - time.time()) + 1)
