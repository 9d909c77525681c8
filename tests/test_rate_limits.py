"""Rate limits on sign-in (per IP and per account) and sign-up (per IP), with a 429 page."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, Browser, LiveServer


def assert_limited(response) -> None:
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert "Please wait" in response.text and "before trying again (until" in response.text
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.settings(IDP_SIGN_IN_IP_LIMIT="3 per minute")
def test_sign_in_is_limited_per_ip(browser, make_user, snapshot):
    make_user("ada@example.com")
    for _ in range(3):
        assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400
    before = snapshot()

    response = browser.sign_in("ada@example.com", PASSWORD)

    assert_limited(response)
    assert browser.cookie() is None
    assert snapshot() == before


@pytest.mark.settings(IDP_SIGN_IN_ACCOUNT_LIMIT="2 per minute")
def test_failed_sign_ins_are_limited_per_account(browser, make_user):
    make_user("ada@example.com")
    make_user("bo@example.com")
    for _ in range(2):
        assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400

    assert_limited(browser.sign_in(" ADA@example.com", PASSWORD))
    # Another account from the same address is not affected.
    assert browser.sign_in("bo@example.com", PASSWORD).status_code == 303


@pytest.mark.settings(IDP_SIGN_IN_ACCOUNT_LIMIT="2 per minute")
def test_successful_sign_ins_do_not_count_against_the_account(browser, make_user):
    make_user("ada@example.com")
    for _ in range(3):
        assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303


@pytest.mark.settings(IDP_SIGN_UP_IP_LIMIT="2 per hour")
def test_sign_up_is_limited_per_ip(browser, snapshot):
    assert browser.sign_up("a1@example.com").status_code == 200
    assert browser.sign_up("a2@example.com", password="x").status_code == 400
    before = snapshot()

    response = browser.sign_up("a3@example.com")

    assert_limited(response)
    assert snapshot() == before


@pytest.mark.settings(IDP_SIGN_IN_IP_LIMIT="2 per minute")
def test_the_limit_counts_across_processes_sharing_redis(env, server, make_user):
    """Many processes behave as one: here two servers share the Redis counters."""
    if not env["REDIS_URL"]:
        pytest.skip("needs REDIS_URL: without Redis each process counts for itself")
    make_user("ada@example.com")
    other = LiveServer(dict(env))
    try:
        first, second = Browser(server.url), Browser(other.url)
        assert first.sign_in("ada@example.com", "wrong-password-1").status_code == 400
        assert second.sign_in("ada@example.com", "wrong-password-1").status_code == 400

        assert_limited(first.sign_in("ada@example.com", PASSWORD))
    finally:
        other.stop()
