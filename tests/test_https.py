"""Behaviour when the issuer is https: HSTS and `__Host-` cookies.

The app runs under a real werkzeug server with a throw-away self-signed certificate
(`ssl_context="adhoc"` when the cryptography package is installed, else one made with the
openssl command), and IDP_ISSUER is that server's https address. Checks:

- Strict-Transport-Security is sent over https (RFC 6797 §7.1).
- The session and form cookies use the `__Host-` prefix, so they are Secure, Path=/ and
  host-only, with no Domain attribute (RFC 6265bis §4.1.3.2); the session cookie is also
  HttpOnly and SameSite=Lax (RFC 6265bis §4.1.2.7), and clearing it keeps the attributes the
  prefix requires, or browsers would ignore the deletion.
- A form posted the way a browser posts it works. Most pages send `Referrer-Policy:
  same-origin`, so their forms carry our own page as Referer; a page whose URL carries a
  secret sends `no-referrer`, so its forms carry none (W3C Referrer Policy §3.1), and such a
  POST is accepted when the browser says it is same-origin (`Sec-Fetch-Site`), refused
  otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from idp.identity import users
from tests.conftest import CSRF, PASSWORD, LiveServer, link_in
from tests.support import set_cookies

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

SESSION = "__Host-idp_session"
FORM = "__Host-idp_form"


@pytest.fixture
def https_server(env: dict[str, str]) -> Iterator[LiveServer]:
    """conftest's LiveServer over TLS (werkzeug's throw-away certificate), with
    IDP_ISSUER=https://127.0.0.1:<port>."""
    server = LiveServer(dict(env), ssl_context="adhoc")
    assert server.settings.is_https
    yield server
    server.stop()


@pytest.fixture
def client() -> Iterator[requests.Session]:
    session = requests.Session()
    session.verify = False  # the certificate is self-signed
    session.trust_env = False  # else REQUESTS_CA_BUNDLE, if set, overrides verify=False
    yield session
    session.close()


def _csrf(client: requests.Session, url: str) -> str:
    match = CSRF.search(client.get(url, allow_redirects=False).text)
    assert match
    return match.group(1)


def _post(
    client: requests.Session, server: LiveServer, page: str, action: str, **fields: str
) -> requests.Response:
    """Post a form with the page's CSRF token, sending a same-origin Referer.

    Flask-WTF (WTF_CSRF_SSL_STRICT) refuses https POSTs without one; this helper sends it so the
    cookie checks below do not depend on that (see the last test for the browser's view).
    """
    data = {"csrf_token": _csrf(client, server.url + page), **fields}
    return client.post(
        server.url + action,
        data=data,
        headers={"Referer": server.url + page},
        allow_redirects=False,
    )


@pytest.fixture
def ada(https_server: LiveServer) -> str:
    with https_server.app.app_context():
        return users.create_user("ada@example.com", "Ada", PASSWORD).email


# The hot protocol endpoints too, though they skip the pages' headers (idp.web.lean).
@pytest.mark.parametrize(
    "path", ["/sign-in", "/healthz", "/no-such-page", "/jwks.json", "/userinfo"]
)
def test_strict_transport_security_is_sent(https_server, client, path):
    response = client.get(https_server.url + path, allow_redirects=False)

    hsts = response.headers["Strict-Transport-Security"]
    directives = {part.strip().split("=")[0].lower(): part for part in hsts.split(";")}
    assert "max-age" in directives
    assert int(directives["max-age"].split("=")[1]) >= 31536000  # a year at least


def test_form_cookie_has_the_host_prefix(https_server, client):
    response = client.get(https_server.url + "/sign-in", allow_redirects=False)

    cookies = set_cookies(response)
    assert "idp_form" not in cookies
    cookie = cookies[FORM]
    assert cookie.has("Secure")
    assert cookie.has("HttpOnly")
    assert cookie.get("Path") == "/"
    assert not cookie.has("Domain")
    assert cookie.get("SameSite") == "Lax"


def test_session_cookie_has_the_host_prefix(https_server, client, ada):
    response = _post(client, https_server, "/sign-in", "/sign-in", email=ada, password=PASSWORD)

    assert response.status_code == 303
    cookies = set_cookies(response)
    assert "idp_session" not in cookies
    cookie = cookies[SESSION]
    assert cookie.value
    assert cookie.has("Secure")
    assert cookie.has("HttpOnly")
    assert cookie.get("SameSite") == "Lax"
    assert cookie.get("Path") == "/"
    assert not cookie.has("Domain")
    assert client.get(https_server.url + "/account", allow_redirects=False).status_code == 200


def test_clearing_the_session_cookie_keeps_the_prefix_attributes(https_server, client, ada):
    _post(client, https_server, "/sign-in", "/sign-in", email=ada, password=PASSWORD)

    response = _post(client, https_server, "/account", "/sign-out")

    assert response.status_code == 303
    cookie = set_cookies(response)[SESSION]
    assert cookie.clears
    assert cookie.has("Secure")
    assert cookie.get("Path") == "/"
    assert not cookie.has("Domain")
    assert client.get(https_server.url + "/account", allow_redirects=False).status_code in (
        302,
        303,
    )


def test_sign_in_form_posted_as_a_browser_would_is_accepted(https_server, client, ada):
    # `Referrer-Policy: same-origin` lets the browser send our own page as Referer on the
    # form post, which Flask-WTF requires over HTTPS; other sites get no Referer from us.
    page = client.get(https_server.url + "/sign-in", allow_redirects=False)
    assert page.headers["Referrer-Policy"] == "same-origin"
    match = CSRF.search(page.text)
    assert match

    response = client.post(
        https_server.url + "/sign-in",
        data={"csrf_token": match.group(1), "email": ada, "password": PASSWORD},
        headers={"Origin": https_server.url, "Referer": https_server.url + "/sign-in"},
        allow_redirects=False,
    )

    assert response.status_code == 303, response.text
    assert SESSION in set_cookies(response)


def test_a_form_posted_from_another_site_is_refused(https_server, client, ada):
    page = client.get(https_server.url + "/sign-in", allow_redirects=False)
    match = CSRF.search(page.text)
    assert match

    response = client.post(
        https_server.url + "/sign-in",
        data={"csrf_token": match.group(1), "email": ada, "password": PASSWORD},
        headers={"Referer": "https://evil.example/sign-in"},
        allow_redirects=False,
    )

    assert response.status_code == 400
    assert "This form expired or did not come from this site." in response.text
    assert SESSION not in set_cookies(response)


def _magic_link_page(https_server, client, mailbox, ada) -> tuple[str, str]:
    """Ask for a sign-in link, open it: (its URL, the confirmation form's CSRF token)."""
    assert _post(client, https_server, "/sign-in/email", "/sign-in/email", email=ada).ok
    message = mailbox.wait_for(ada, "Sign in to")
    link = link_in(message, "/sign-in/email/")
    page = client.get(link, allow_redirects=False)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    match = CSRF.search(page.text)
    assert match
    return link, match.group(1)


def test_a_form_on_a_no_referrer_page_is_accepted_from_this_site(
    https_server, client, ada, mailbox
):
    """A page whose URL carries a secret sends no Referer, so its form's post has none
    (W3C Referrer Policy §3.1); the browser's `Sec-Fetch-Site: same-origin` (W3C Fetch
    Metadata §2.1.3, a header pages cannot set) shows it came from this site."""
    link, csrf = _magic_link_page(https_server, client, mailbox, ada)

    response = client.post(
        link,
        data={"csrf_token": csrf},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )

    assert response.status_code == 303, response.text
    assert SESSION in set_cookies(response)


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", None])
def test_a_post_without_referer_from_elsewhere_is_refused(
    https_server, client, ada, mailbox, fetch_site
):
    link, csrf = _magic_link_page(https_server, client, mailbox, ada)
    headers = {"Sec-Fetch-Site": fetch_site} if fetch_site else {}

    response = client.post(link, data={"csrf_token": csrf}, headers=headers, allow_redirects=False)

    assert response.status_code == 400
    assert "This form expired or did not come from this site." in response.text
    assert SESSION not in set_cookies(response)
