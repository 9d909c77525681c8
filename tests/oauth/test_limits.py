"""The largest values clients may send (idp.oauth.limits, the README's "Limits" table):
beyond them a request is refused with 400 and a message naming the field and the limit, and
nothing is stored.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.oauth.conftest import authorize_url, pkce
from tests.test_cli import run

CHALLENGE = pkce()[1]
APP = "https://app.example/cb"


@pytest.mark.parametrize(
    ("member", "value", "message"),
    [
        (
            "redirect_uris",
            [f"{APP}/{n}" for n in range(21)],
            "redirect_uris has at most 20 entries.",
        ),
        (
            "post_logout_redirect_uris",
            [f"{APP}/{n}" for n in range(21)],
            "post_logout_redirect_uris has at most 20 entries.",
        ),
        ("scope", " ".join(["openid"] * 200), "scope has at most 1000 characters."),
        ("contacts", [f"{n}@example.com" for n in range(11)], "contacts has at most 10 entries."),
        ("contacts", ["a" * 321], "Each of contacts has at most 320 characters."),
        ("software_id", "s" * 201, "software_id has at most 200 characters."),
        ("tos_uri", "https://app.example/" + "t" * 2000, "tos_uri has at most 2000 characters."),
    ],
    ids=["redirects", "logout-redirects", "scope", "contacts", "contact", "software_id", "tos"],
)
def test_registration_metadata_beyond_its_limit_is_refused(http, snapshot, member, value, message):
    """RFC 7591 §3.2.2 invalid_client_metadata: "The value of one of the client metadata
    fields is invalid". Each field has a documented maximum, even one we otherwise ignore."""
    before = snapshot()

    response = http.post(
        "/register",
        json={"redirect_uris": [APP], "token_endpoint_auth_method": "none", member: value},
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client_metadata", "error_description": message}
    assert snapshot() == before


@pytest.mark.parametrize(
    ("param", "size", "limit"),
    [("state", 1001, 1000), ("nonce", 513, 512), ("login_hint", 4001, 4000)],
)
def test_authorization_parameters_beyond_their_limit_get_an_error_page(
    browser, make_client, snapshot, param, size, limit
):
    """RFC 6749 §4.1.2.1 invalid_request. `state` comes back in the redirect and `nonce` is
    stored with the code: both have a maximum size. The page says which and how long."""
    client = make_client()
    before = snapshot()

    response = browser.get(authorize_url(client, CHALLENGE, **{param: "x" * size}))

    assert response.status_code == 400
    assert "Location" not in response.headers
    text = html.unescape(response.get_data(as_text=True))
    assert f"{param} has at most {limit} characters. (invalid_request)" in text
    assert snapshot() == before


def test_a_token_request_scope_beyond_its_limit_is_refused(http, make_client, snapshot):
    """RFC 6749 §5.2 invalid_request, as JSON from the token endpoint."""
    client = make_client(grant_types=["client_credentials"])
    before = snapshot()

    response = http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "openid " * 200},
        auth=(client.client_id, client.client_secret),
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "scope has at most 1000 characters.",
    }
    assert snapshot() == before


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, keys_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(keys_dir),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [arg for n in range(21) for arg in ("--redirect-uri", f"{APP}/{n}")],
            "Error: client: redirect_uris has at most 20 entries.",
        ),
        (
            ["--redirect-uri", APP, "--access-token-ttl", "99999999999"],
            "Error: access_token_ttl: access_token_ttl must be 1 to 315360000 seconds.",
        ),
    ],
    ids=["redirect-uris", "lifetime"],
)
def test_the_command_line_keeps_the_same_limits(cli_env, app, snapshot, args, message):
    """`idp clients create` goes through the same client store: beyond a limit it prints one
    `Error:` line and stores nothing (a lifetime beyond ten years would not fit the column)."""
    before = snapshot()

    result = run("clients", "create", "--name", "Shop", *args, env=cli_env)

    assert result.returncode == 1
    assert result.stderr.strip() == message
    assert snapshot() == before
