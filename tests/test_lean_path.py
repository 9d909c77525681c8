"""The hot protocol endpoints on the lean path (idp.web.lean): what they still answer on the
wire, and what the pages' machinery no longer adds.

- RFC 6749 §5.1: token responses carry `Cache-Control: no-store` and `Pragma: no-cache`.
- RFC 7517 §5, OpenID Connect Discovery §4: the JWKS and metadata are JSON any origin may read.
- No cookie is set or read there: clients authenticate with credentials, not a browser session.
- `/metrics` times them as it times every other request, under the same endpoint names.
- The token, introspection, revocation and userinfo requests are read without Flask's request
  context (idp.web.lean_request): what the audit log records of them, and the requests of
  another shape (RFC 6749 §3.2 names form bodies; JSON, multipart, a body that is not UTF-8
  or is over the limit) that Flask still answers as before.
"""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent, Event, record, request_origin
from idp.db import db
from idp.web import lean
from idp.web.lean_request import LeanRequest
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


def _cc_client(make_client):
    return make_client(grant_types=["client_credentials"], redirect_uris=[])


def _audited(app, event):
    with app.app_context():
        return [
            (row.ip, row.user_agent, row.subject)
            for row in db.session.scalars(select(AuditEvent).where(AuditEvent.event == event))
        ]


def test_a_revocation_is_audited_with_where_it_came_from(http, app, make_client):
    """The audit log's IP and user agent come from the lean request as from Flask's."""
    client = _cc_client(make_client)
    auth = (client.client_id, client.client_secret)
    token = http.post("/token", data={"grant_type": "client_credentials"}, auth=auth)
    agent = "resource-server/2.1 (+https://api.example.com)"

    revoked = http.post(
        "/revoke",
        data={"token": token.json()["access_token"]},
        auth=auth,
        headers={"User-Agent": agent},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )

    assert revoked.status_code == 200
    assert _audited(app, Event.TOKEN_REVOKED) == [("203.0.113.7", agent, client.client_id)]


BOUNDARY = "lean-path-boundary"
MULTIPART = (
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="grant_type"\r\n\r\n'
    f"client_credentials\r\n--{BOUNDARY}--\r\n"
)
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("sent", "status", "error"),
    [
        # Not the form body RFC 6749 §3.2 names, but one Flask has always read.
        (
            {
                "data": MULTIPART,
                "headers": {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            },
            200,
            None,
        ),
        # RFC 6749 §3.2: parameters come in a form body; a JSON one holds none.
        ({"json": {"grant_type": "client_credentials"}}, 400, "unsupported_grant_type"),
        # A form body that is not UTF-8 holds no parameters (as Flask reads it).
        (
            {
                "data": b"grant_type=client_credentials&x=\xff\xfe",
                "headers": {"Content-Type": FORM},
            },
            400,
            "unsupported_grant_type",
        ),
        # As Flask's `values`: a grant type in the query still names it.
        ({"url": "/token?grant_type=client_credentials", "data": {"scope": ""}}, 200, None),
    ],
    ids=["multipart", "json", "not-utf8", "query-and-body"],
)
def test_a_token_request_of_another_shape_is_answered_as_before(
    http, make_client, sent, status, error
):
    client = _cc_client(make_client)
    sent = dict(sent)

    response = http.post(
        sent.pop("url", "/token"), auth=(client.client_id, client.client_secret), **sent
    )

    assert response.status_code == status
    assert response.json().get("error") == error


def test_a_form_body_over_the_limit_is_refused_unread(http, make_client):
    client = _cc_client(make_client)
    limit = http.app.config["MAX_CONTENT_LENGTH"]

    response = http.post(
        "/token",
        data="grant_type=client_credentials&x=" + "a" * limit,
        auth=(client.client_id, client.client_secret),
        headers={"Content-Type": FORM, "Accept": "application/json"},
    )

    assert response.status_code == 413


def _environ(body: bytes = b"", **extra):
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/token",
        "wsgi.url_scheme": "https",
        "SERVER_NAME": "idp.example.com",
        "wsgi.input": io.BytesIO(body),
        **extra,
    }


@pytest.mark.parametrize(
    ("extra", "taken"),
    [
        ({"CONTENT_TYPE": FORM, "CONTENT_LENGTH": "29"}, True),
        ({"CONTENT_TYPE": FORM + "; charset=UTF-8", "CONTENT_LENGTH": "29"}, True),
        ({}, True),  # no body at all (a GET to userinfo, say)
        ({"CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "29"}, False),
        ({"CONTENT_TYPE": "multipart/form-data; boundary=x", "CONTENT_LENGTH": "29"}, False),
        ({"CONTENT_TYPE": FORM, "HTTP_TRANSFER_ENCODING": "chunked"}, False),
        ({"CONTENT_TYPE": FORM, "CONTENT_LENGTH": "99"}, False),  # over the limit given
    ],
)
def test_the_lean_request_takes_form_bodies_and_leaves_the_rest_to_flask(extra, taken):
    body = b"grant_type=client_credentials"
    environ = _environ(body, **extra)

    request = LeanRequest.from_environ(environ, "oauth.token", max_length=64)

    assert (request is not None) is taken
    if request is not None and extra:
        assert request.form["grant_type"] == "client_credentials"
        assert environ["wsgi.input"].read() == body  # put back for Flask, should it need it


def test_an_event_outside_a_request_context_records_the_lean_requests_origin(app):
    with app.app_context():
        with request_origin("203.0.113.7", "resource-server/2.1"):
            row = record(Event.TOKEN_REVOKED, subject="a-client")
        outside = record(Event.TOKEN_REVOKED, subject="a-client")
        db.session.rollback()

    assert (row.ip, row.user_agent) == ("203.0.113.7", "resource-server/2.1")
    assert (outside.ip, outside.user_agent) == (None, None)


def test_an_unexpected_error_goes_to_the_apps_handler(http, monkeypatch, make_client):
    """A fault inside a lean endpoint answers as a fault anywhere: 500 with a request id."""

    def fails(request):
        raise RuntimeError("the database went away")

    monkeypatch.setitem(lean.LEAN, "tokens.revoke", fails)
    client = _cc_client(make_client)

    response = http.post(
        "/revoke",
        data={"token": "anything"},
        auth=(client.client_id, client.client_secret),
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 500
    body = json.loads(response.text)
    assert "request_id" in body
    assert "database" not in response.text
