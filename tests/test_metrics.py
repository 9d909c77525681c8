"""Prometheus metrics at GET /metrics: off without IDP_METRICS_TOKEN, 401 without the token,
and counts that follow real requests (tokens issued, sign-in outcomes, rate-limit refusals,
request latency), read back through prometheus-client's own parser."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from idp.core import metrics
from idp.settings import ROOT, Settings, SettingsError
from tests.conftest import PASSWORD, SECRET
from tests.test_cli import free_port
from tests.test_production import finish, serve, wait_for

TOKEN = "metrics-token-" + "m" * 30
enabled = pytest.mark.settings(IDP_METRICS_TOKEN=TOKEN)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: Any) -> Samples:
    response = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return parse(response.text)


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_without_a_token_there_is_no_metrics_page(http):
    response = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 404


@enabled
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-" + "w" * 30, TOKEN, f"Basic {TOKEN}"]
)
def test_metrics_refuse_a_scrape_without_the_token(http, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = http.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.text == "unauthorized\n"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_the_metrics_token_must_be_long():
    with pytest.raises(SettingsError, match="IDP_METRICS_TOKEN must be at least 32"):
        Settings.from_env({"IDP_METRICS_TOKEN": "short"})


@enabled
def test_a_client_credentials_token_counts_by_grant_type_and_times_the_endpoint(http, make_client):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[])
    before = scrape(http)

    response = http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
    )

    assert response.status_code == 200
    after = scrape(http)
    issued = "idp_tokens_issued_total"
    assert value(after, issued, grant_type="client_credentials") == (
        value(before, issued, grant_type="client_credentials") + 1
    )
    timed = "idp_http_request_duration_seconds_count"
    labels = {"endpoint": "oauth.token", "method": "POST", "status": "200"}
    assert value(after, timed, **labels) == value(before, timed, **labels) + 1
    text = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert client.client_id not in text and client.client_secret not in text


@enabled
def test_a_refused_token_request_issues_nothing(http, make_client):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[])
    before = scrape(http)

    response = http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, "wrong")
    )

    assert response.status_code == 401
    after = scrape(http)
    issued = "idp_tokens_issued_total"
    assert value(after, issued, grant_type="client_credentials") == value(
        before, issued, grant_type="client_credentials"
    )
    timed = "idp_http_request_duration_seconds_count"
    labels = {"endpoint": "oauth.token", "method": "POST", "status": "401"}
    assert value(after, timed, **labels) == value(before, timed, **labels) + 1


@enabled
def test_sign_ins_count_by_outcome_and_name_nobody(http, browser, make_user):
    make_user("ada@example.com")
    before = scrape(http)

    assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303

    after = scrape(http)
    for outcome in ("wrong_password", "success"):
        assert value(after, "idp_sign_ins_total", outcome=outcome) == (
            value(before, "idp_sign_ins_total", outcome=outcome) + 1
        )
    text = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "ada@example.com" not in text


@enabled
@pytest.mark.settings(IDP_LOCKOUT_SLOW_AFTER="1", IDP_LOCKOUT_AFTER="2")
def test_a_locked_credential_counts_as_locked(http, browser, make_user):
    make_user("ada@example.com")
    before = scrape(http)

    for _ in range(2):
        browser.sign_in("ada@example.com", "wrong-password-1")
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 429

    after = scrape(http)
    assert value(after, "idp_sign_ins_total", outcome="locked") >= (
        value(before, "idp_sign_ins_total", outcome="locked") + 1
    )


@enabled
@pytest.mark.settings(IDP_SIGN_IN_IP_LIMIT="2 per minute")
def test_a_rate_limited_request_counts_as_refused(http, browser, make_user):
    make_user("ada@example.com")
    before = scrape(http)
    refused = "idp_rate_limited_requests_total"

    for _ in range(2):
        assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 429

    after = scrape(http)
    assert value(after, refused, endpoint="auth.sign_in") == (
        value(before, refused, endpoint="auth.sign_in") + 1
    )
    timed = "idp_http_request_duration_seconds_count"
    labels = {"endpoint": "auth.sign_in", "method": "POST", "status": "429"}
    assert value(after, timed, **labels) == value(before, timed, **labels) + 1


@enabled
def test_unknown_paths_and_methods_share_one_series(http):
    before = scrape(http)

    assert http.get("/no-such-page-1").status_code == 404
    assert http.get("/no-such-page-2").status_code == 404
    http.request("BREW", "/jwks.json")

    after = scrape(http)
    timed = "idp_http_request_duration_seconds_count"
    labels = {"endpoint": "none", "method": "GET", "status": "404"}
    assert value(after, timed, **labels) == value(before, timed, **labels) + 2
    assert not any("no-such-page" in str(key) or "BREW" in str(key) for key in after)


def test_several_processes_add_up_in_the_multiprocess_folder(tmp_path: Path):
    """Each worker process writes its counts to PROMETHEUS_MULTIPROC_DIR; a scrape in any
    process reads them all."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from idp.core import metrics; metrics.token_issued('refresh_token')"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, cwd=ROOT)
    read = "from idp.core import metrics; print(metrics.scrape()[0].decode())"

    result = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, cwd=ROOT, capture_output=True
    )

    samples = parse(result.stdout.decode())
    assert value(samples, "idp_tokens_issued_total", grant_type="refresh_token") == 2


def test_the_workers_answer_a_scrape_with_the_sum_of_all(tmp_path: Path, database_url, redis_url):
    """Two workers of the production server and PROMETHEUS_MULTIPROC_DIR: whichever worker
    answers a scrape, it counts every request either worker answered (each adds its request
    timings within a flush interval)."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    port = free_port()
    process = serve(
        {
            "IDP_ISSUER": "https://login.example.com",
            "IDP_SECRET_KEY": SECRET,
            "IDP_INSTANCE_DIR": str(tmp_path),
            "IDP_KEYS_DIR": str(tmp_path / "keys"),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "IDP_REDIS_PREFIX": "idp-test-metrics:",
            "IDP_METRICS_TOKEN": TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(folder),
        },
        port,
        workers=2,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(process, f"{base}/healthz")
        before = _settled_count(base)
        for _ in range(20):  # a new connection each: the kernel hands them to either worker
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        after = _counts_reaching(base, before + 20)
    finally:
        process.terminate()
        finish(process)  # a worker still starting waits for the kill timeout

    assert after == {before + 20}  # every scrape, whichever worker answers it, agrees
    assert list(folder.glob("histogram_*.db"))


def _settled_count(base: str) -> float:
    """The count of /healthz answers once no worker has timings still queued: two sets of
    scrapes, a flush interval apart, agree."""
    deadline = time.monotonic() + 20
    while True:
        first = _healthz_counts(base)
        time.sleep(metrics.FLUSH_SECONDS + 0.5)
        second = _healthz_counts(base)
        if len(first) == 1 and first == second:
            return first.pop()
        assert time.monotonic() < deadline, f"the count never settled: {first} then {second}"


def _counts_reaching(base: str, target: float) -> set[float]:
    """The counts the scrapes tell once they tell `target` (each worker adds its queued
    timings within a flush interval), or what they tell when waiting longer is pointless."""
    deadline = time.monotonic() + 20
    while (counts := _healthz_counts(base)) != {target} and time.monotonic() < deadline:
        time.sleep(0.2)
    return counts


def _healthz_counts(base: str) -> set[float]:
    """The count of /healthz answers, as each of four scrapes tells it."""
    labels = {"endpoint": "health.healthz", "method": "GET", "status": "200"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return {
        value(
            parse(requests.get(f"{base}/metrics", headers=headers, timeout=5).text),
            "idp_http_request_duration_seconds_count",
            **labels,
        )
        for _ in range(4)
    }
