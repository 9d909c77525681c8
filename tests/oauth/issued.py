"""Getting tokens for protocol tests: sign in and consent through the browser, redeem the code,
and call the token, introspection and revocation endpoints as a registered client.

`http` is the app's `http` fixture (an `AppClient`, no socket) or a `LiveServer`: both take
`get(path, ...)` and `post(path, ...)`."""

from __future__ import annotations

from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import PASSWORD, AppClient, Browser, LiveServer
from tests.oauth.conftest import RegisteredClient, authorize_url, follow, pkce, query_of

Http = AppClient | LiveServer


def post_as(http: Http, client: RegisteredClient, path: str, **form: str) -> Any:
    """POST a form as `client`: HTTP Basic with its secret, or its client_id alone if public."""
    auth = None
    if client.client_secret:
        auth = (client.client_id, client.client_secret)
    else:
        form.setdefault("client_id", client.client_id)
    return http.post(path, data=form, auth=auth, timeout=5)


def issue(
    http: Http,
    browser: Browser,
    client: RegisteredClient,
    scope: str = "openid profile offline_access",
    email: str = "ada@example.com",
    **params: str,
) -> dict[str, Any]:
    """Run the code flow for `email` (signing in if needed) and return the token response."""
    verifier, challenge = pkce()
    url = authorize_url(client, challenge, scope=scope, **params)
    callback = follow(browser, url, sign_in=(email, PASSWORD))
    response = redeem(http, client, query_of(callback)["code"], verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def redeem(http: Http, client: RegisteredClient, code: str, verifier: str) -> Any:
    """POST the authorization code to /token with its PKCE verifier (RFC 7636 §4.5)."""
    return post_as(
        http,
        client,
        "/token",
        grant_type="authorization_code",
        code=code,
        redirect_uri=client.redirect_uri,
        code_verifier=verifier,
    )


def refresh(http: Http, client: RegisteredClient, refresh_token: str, **form: str) -> Any:
    return post_as(
        http, client, "/token", grant_type="refresh_token", refresh_token=refresh_token, **form
    )


def claims_of(http: Http, token: str) -> dict[str, Any]:
    """The verified claims of a JWT this server signed."""
    keys = KeySet.import_key_set(http.get("/jwks.json", timeout=5).json())
    return dict(jwt.decode(token, keys).claims)


def userinfo(http: Http, access_token: str) -> Any:
    headers = {"Authorization": f"Bearer {access_token}"}
    return http.get("/userinfo", headers=headers, timeout=5)
