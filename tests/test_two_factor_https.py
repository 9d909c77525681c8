"""Over HTTPS the trusted-device cookie is `__Host-idp_trusted`: Secure, HttpOnly,
SameSite=Lax, Path=/, no Domain (RFC 6265bis §4.1.3.2), and it still skips the second step."""

from __future__ import annotations

import pytest
from flask import Flask

from idp.identity import users
from tests.conftest import PASSWORD
from tests.support import set_cookies
from tests.test_https import _post, client, https_server  # noqa: F401 (fixtures)
from tests.test_two_factor import SECOND_FACTOR, code_at, with_two_factor

pytestmark = [
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
    pytest.mark.usefixtures("steady_totp_step"),
]


def test_the_trusted_device_cookie_has_the_host_prefix(https_server, client):  # noqa: F811
    app: Flask = https_server.app
    with app.app_context():
        user_id = users.create_user("ada@example.com", "Ada", PASSWORD).id
    secret, _ = with_two_factor(app, user_id)
    signed = _post(
        client, https_server, "/sign-in", "/sign-in", email="ada@example.com", password=PASSWORD
    )
    assert signed.headers["Location"] == SECOND_FACTOR

    response = _post(
        client,
        https_server,
        SECOND_FACTOR,
        SECOND_FACTOR,
        method="totp",
        code=code_at(secret),
        trust="y",
    )

    assert response.status_code == 303
    cookies = set_cookies(response)
    assert "idp_trusted" not in cookies
    cookie = cookies["__Host-idp_trusted"]
    assert cookie.has("Secure") and cookie.has("HttpOnly")
    assert cookie.get("SameSite") == "Lax"
    assert cookie.get("Path") == "/"
    assert not cookie.has("Domain")
    _post(client, https_server, "/account", "/sign-out")
    again = _post(
        client, https_server, "/sign-in", "/sign-in", email="ada@example.com", password=PASSWORD
    )
    assert again.headers["Location"] == "/account"
