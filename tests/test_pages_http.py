"""Response headers and error pages, over plain HTTP.

- Every response carries a Content-Security-Policy that forbids framing (CSP Level 3
  `frame-ancestors`) and inline script, `X-Content-Type-Options: nosniff` (Fetch Standard
  §3.5), and a Referrer-Policy (W3C Referrer Policy).
- Strict-Transport-Security is not sent over plain http: RFC 6797 §7.2 says a host must not
  include it in responses over non-secure transport (test_https.py checks it is sent over https).
- HTML is never cached (RFC 9111 §5.2.2.5, `no-store`): it may carry a CSRF token or account
  details.
- Errors get a friendly page (JSON when the client asks for it); a 405 keeps its Allow header
  (RFC 9110 §15.5.6); a 500 shows a reference id and never the traceback.
"""

from __future__ import annotations

import html
import re

import pytest
import requests

from tests.conftest import PASSWORD


def _directives(policy: str) -> dict[str, list[str]]:
    """A CSP header as {directive: [source, ...]}."""
    found: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        found[name.lower()] = values
    return found


def _get(http, path: str, **headers: str) -> requests.Response:
    return http.get(path, headers=headers, allow_redirects=False, timeout=10)


@pytest.mark.parametrize("path", ["/sign-in", "/healthz", "/no-such-page"])
def test_security_headers_are_on_every_response(http, path):
    response = _get(http, path)

    csp = _directives(response.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("path", ["/sign-in", "/sign-up", "/no-such-page"])
def test_html_is_not_stored_by_caches(http, path):
    response = _get(http, path)

    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-store"


def test_account_page_is_not_stored_by_caches(browser, make_user):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com", password=PASSWORD)

    response = browser.get("/account")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_404_page_is_friendly(http):
    response = _get(http, "/no-such-page")

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Error 404" in response.text


def test_405_page_is_friendly(http):
    response = _get(http, "/sign-out")

    assert response.status_code == 405
    assert "That didn't work" in html.unescape(response.text)
    assert "Error 405" in response.text


def test_405_says_which_methods_are_allowed(http):
    # RFC 9110 §15.5.6: a 405 response MUST carry an Allow header.
    response = _get(http, "/sign-out")

    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


def test_400_page_explains_an_expired_form(http):
    response = http.post(
        "/sign-in",
        data={"email": "ada@example.com", "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 400
    assert "This form expired or did not come from this site." in response.text
    assert "Error 400" in response.text


def test_errors_are_json_for_clients_that_ask_for_it(http):
    response = _get(http, "/no-such-page", Accept="application/json")

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "Page not found"
    assert response.json()["message"]
    assert _directives(response.headers["Content-Security-Policy"])["frame-ancestors"]


def test_405_is_json_for_clients_that_ask_for_it(http):
    response = _get(http, "/sign-out", Accept="application/json")

    assert response.status_code == 405
    assert response.json()["error"] == "That didn't work"


@pytest.fixture
def failing_client(http, build_app):
    """A test client of a second app, built from the test app's settings, with a view that
    raises. Flask refuses new routes once an app has handled a request, and the test app may
    already have; this app has served nothing yet, so the route can be added."""
    app = build_app(http.settings)

    def explode() -> str:
        raise RuntimeError("secret internals: db password hunter2")

    app.add_url_rule("/explode", "explode", explode)
    return app.test_client()


def test_500_page_shows_a_reference_and_no_traceback(failing_client, caplog):
    response = failing_client.get("/explode")

    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    reference = re.search(r"Reference: <code>([0-9a-f]{12})</code>", body)
    assert reference, body
    assert "Traceback" not in body
    assert "RuntimeError" not in body
    assert "hunter2" not in body
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    # The reference ties the page to the logged traceback.
    assert any(reference.group(1) in record.getMessage() for record in caplog.records)


def test_500_is_json_for_clients_that_ask_for_it(failing_client):
    response = failing_client.get("/explode", headers={"Accept": "application/json"})

    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "Something went wrong on our side"
    assert re.fullmatch(r"[0-9a-f]{12}", body["request_id"])
    assert "hunter2" not in response.get_data(as_text=True)
