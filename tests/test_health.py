"""Probes: /healthz (the process answers) and /readyz (database and, if configured, Redis)."""

from __future__ import annotations

import pytest
import requests


def test_healthz(server):
    response = requests.get(server.url + "/healthz", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_what_is_configured(server, env):
    response = requests.get(server.url + "/readyz", timeout=5)

    expected = {"database": "ok"} | ({"redis": "ok"} if env["REDIS_URL"] else {})
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": expected}


@pytest.mark.settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_readyz_reports_an_unreachable_redis(server):
    response = requests.get(server.url + "/readyz", timeout=5)

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unreachable"},
    }


def test_probes_are_never_rate_limited(server):
    for _ in range(50):
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
