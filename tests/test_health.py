"""Probes: /healthz (the process answers) and /readyz (database and, if configured, Redis)."""

from __future__ import annotations

import pytest


def test_healthz(http):
    response = http.get("/healthz", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_what_is_configured(http, env):
    response = http.get("/readyz", timeout=5)

    expected = {"database": "ok"} | ({"redis": "ok"} if env["REDIS_URL"] else {})
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": expected}


@pytest.mark.settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_readyz_reports_an_unreachable_redis(http):
    response = http.get("/readyz", timeout=5)

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unreachable"},
    }


def test_probes_are_never_rate_limited(http):
    for _ in range(50):
        assert http.get("/healthz", timeout=5).status_code == 200
