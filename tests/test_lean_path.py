"""The hot protocol endpoints on the lean path (idp.web.lean): what they still answer on the
wire, and what the pages' machinery no longer adds.

- RFC 6749 §5.1: token responses carry `Cache-Control: no-store` and `Pragma: no-cache`.
- RFC 7517 §5, OpenID Connect Discovery §4: the JWKS and metadata are JSON any origin may read.
- No cookie is set or read there: clients authenticate with credentials, not a browser session.
- `/metrics` times them as it times every other request, under the same endpoint names.
"""

from __future__ import annotations

import pytest

from tests.test_metrics import enabled, scrape, value

TIMED = "idp_http_request_duration_seconds_count"


@pytest.mark.parametrize("path", ["/jwks.json", "/.well-known/openid-configuration"])
def test_the_documents_are_public_cached_json(http, path):
    response = http.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response.headers


def test_a_token_response_is_never_cached_and_sets_no_cookie(http, make_client):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[])

    response = http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
        headers={"Cookie": "idp_form=anything"},
    )

    assert response.status_code == 200
    assert (response.headers["Cache-Control"], response.headers["Pragma"]) == (
        "no-store",
        "no-cache",
    )
    assert "Set-Cookie" not in response.headers
    assert "Content-Security-Policy" not in response.headers  # a page's header, not an API's


def test_a_query_string_on_a_document_takes_the_full_path(http):
    assert http.get("/jwks.json?x=%00").status_code == 400  # idp.web.inputs refuses NUL
    assert http.get("/jwks.json?x=1").status_code == 200


@enabled
@pytest.mark.parametrize(
    ("path", "endpoint"),
    [("/jwks.json", "oauth.jwks"), ("/.well-known/openid-configuration", "oauth.discovery")],
)
def test_the_documents_are_timed(http, path, endpoint):
    labels = {"endpoint": endpoint, "method": "GET", "status": "200"}
    before = value(scrape(http), TIMED, **labels)

    http.get(path)
    http.get(path)

    assert value(scrape(http), TIMED, **labels) == before + 2


@enabled
def test_a_refused_userinfo_request_is_timed(http):
    labels = {"endpoint": "oauth.userinfo", "method": "GET", "status": "401"}
    before = value(scrape(http), TIMED, **labels)

    assert http.get("/userinfo").status_code == 401

    assert value(scrape(http), TIMED, **labels) == before + 1
