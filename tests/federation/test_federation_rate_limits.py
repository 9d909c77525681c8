"""Federated sign-ins are counted per IP like sign-in attempts (IDP_SIGN_IN_IP_LIMIT): each
start keeps a pending sign-in and each answer is checked (an OpenID Connect code redeemed), so
a client that floods them gets 429 with the usual page and stores nothing."""

from __future__ import annotations

import pytest

from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.test_rate_limits import assert_limited

pytestmark = pytest.mark.settings(IDP_SIGN_IN_IP_LIMIT="2 per minute")


def test_upstream_callbacks_are_limited_per_ip(browser, snapshot):
    for _ in range(2):
        assert browser.get("/sign-in/with/peer/callback?state=forged&code=x").status_code == 400
    before = snapshot()  # each refusal above is audited; the limited one is not

    limited = browser.get("/sign-in/with/peer/callback?state=forged&code=x")

    assert_limited(limited)
    assert snapshot() == before


def test_sso_starts_are_limited_per_ip(corp, browser):
    for _ in range(2):
        assert browser.get(f"/sso/{corp.connection_id}/start").status_code == 303

    limited = browser.get(f"/sso/{corp.connection_id}/start")

    assert_limited(limited)
    assert "Location" not in limited.headers


def test_sso_answers_are_limited_per_ip(corp, browser, snapshot):
    for _ in range(2):
        assert corp.post(browser, "<not-saml/>").status_code == 403
    before = snapshot()

    assert_limited(corp.post(browser, "<not-saml/>"))
    assert snapshot() == before
