"""Step-up by scope: a resource server asks for more, the user allows only what is new.

A real resource server (our verifier, idp.resource, in a Flask app on 127.0.0.1) answers a
token that lacks a scope with 403 `insufficient_scope` and the scope it needs (RFC 6750 §3.1,
§3); the client authorizes again with the larger scope and the same `resource` (RFC 8707
§2.1). With the sign-in session alive the user is not asked to sign in; the consent page asks
only for the added scope; the new token (audience = the resource, RFC 8707 §2.2) carries it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests
from flask import Flask, g
from werkzeug.serving import make_server

from idp.oauth.resources import create_resource
from idp.resource import ResourceServer, require
from tests.conftest import PASSWORD, POLL_INTERVAL
from tests.oauth.conftest import authorize_url, follow, pkce, query_of
from tests.oauth.issued import redeem


class NotesApi:
    """A notes API on its own port, trusting the provider through the verifier only."""

    def __init__(self, issuer: str) -> None:
        self._server = make_server("127.0.0.1", 0, self._unset)
        self.url = f"http://127.0.0.1:{self._server.port}/"
        api = ResourceServer(issuer, self.url, ["notes:read", "notes:write"])
        app = Flask("notes")

        @app.get("/notes")
        @require(api, "notes:read")
        def read() -> dict[str, str]:
            return {"owner": g.claims.sub}

        @app.post("/notes")
        @require(api, "notes:write")
        def write() -> dict[str, str]:
            return {"saved": "yes"}

        self._server.app = app
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL,), daemon=True
        )
        self._thread.start()

    @staticmethod
    def _unset(environ, start_response):  # pragma: no cover - replaced right after binding
        raise RuntimeError("set after binding")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def notes_api(server) -> Iterator[NotesApi]:
    api = NotesApi(server.url)
    with server.app.app_context():
        create_resource(
            api.url, "Notes", {"notes:read": "Read your notes", "notes:write": "Change your notes"}
        )
    yield api
    api.stop()


def token_for(server, browser, client, scope: str, resource: str, **follow_options) -> dict:
    verifier, challenge = pkce()
    url = authorize_url(client, challenge, scope=scope) + "&" + urlencode({"resource": resource})
    code = query_of(follow(browser, url, **follow_options))["code"]
    response = redeem(server, client, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


def call(api: NotesApi, method: str, token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(method, api.url + "notes", headers=headers, timeout=5)


def test_the_added_scope_is_granted_after_consent_without_signing_in(
    server, browser, make_user, make_client, notes_api
):
    make_user("ada@example.com")
    client = make_client(name="Agent")
    first = token_for(
        server,
        browser,
        client,
        "notes:read",
        notes_api.url,
        sign_in=("ada@example.com", PASSWORD),
    )
    assert call(notes_api, "GET", first["access_token"]).status_code == 200

    refused = call(notes_api, "POST", first["access_token"])

    assert refused.status_code == 403
    challenge = refused.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    hint = re.search(r'scope="([^"]*)"', challenge)
    assert hint is not None and hint.group(1) == "notes:write"

    # The client asks again with the larger scope. No sign-in (follow would fail on one);
    # the consent page asks only for the added scope.
    larger = f"notes:read {hint.group(1)}"
    url = (
        authorize_url(client, pkce()[1], scope=larger)
        + "&"
        + urlencode({"resource": notes_api.url})
    )
    consent_page = browser.get(browser.get(url).headers["Location"]).text
    asked = re.search(r'<ul class="scopes">(.*?)</ul>', consent_page, re.S)
    assert asked is not None
    assert "Change your notes" in asked.group(1)
    assert "Read your notes" not in asked.group(1)
    assert "You already allowed it to: Read your notes." in consent_page

    second = token_for(server, browser, client, larger, notes_api.url)

    assert second["scope"] == "notes:read notes:write"
    assert call(notes_api, "POST", second["access_token"]).json() == {"saved": "yes"}


def test_a_token_for_the_notes_api_is_refused_by_another_resource(
    server, browser, make_user, make_client, notes_api
):
    """RFC 8707 §2.2 with RFC 9068 §4: the audience binds the token to one resource."""
    make_user("ada@example.com")
    client = make_client()
    token = token_for(
        server, browser, client, "notes:read", notes_api.url, sign_in=("ada@example.com", PASSWORD)
    )
    other = NotesApi(server.url)
    try:
        refused = call(other, "GET", token["access_token"])
    finally:
        other.stop()

    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert call(notes_api, "GET", token["access_token"]).status_code == 200
