"""Client ID Metadata Documents: an https URL as client_id names the client's metadata.

MCP authorization specification 2025-11-25, "Client ID Metadata Documents", and
draft-ietf-oauth-client-id-metadata-document ("the draft"): §3 the client identifier URL,
§4 fetching (200 and JSON only, no redirects), §4.1 the document (client_id equals its URL, no
shared secret), §4.4 caching per HTTP cache headers, §6.1 redirect URIs from the document,
§6.5 SSRF, §6.6 response size. RFC 8414 §2 / MCP: `client_id_metadata_document_supported`.

Documents are served by a real HTTP server on 127.0.0.1, so these tests allow private
addresses (IDP_CLIENT_METADATA_ALLOW_PRIVATE) and run in development mode, where http is
accepted; the tests of those defences turn them back on.
"""

from __future__ import annotations

import html
import ipaddress
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey
from sqlalchemy import select

from idp.db import db
from idp.oauth.metadata_documents import cache_seconds, is_public, problem_with_url
from idp.oauth.models import Client
from idp.oauth.resources import create_resource
from tests.conftest import PASSWORD, POLL_INTERVAL
from tests.oauth.conftest import RegisteredClient, authorize_url, follow, pkce, query_of

ADA = ("ada@example.com", PASSWORD)
CALLBACK = "http://127.0.0.1:9/callback"
CHALLENGE = pkce()[1]

# The default time limit (5 s) but where a test is about the limit: a loaded machine can take
# longer than a second to serve a document from this process.
pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # seconds between bytes of the body
    delay: float = 0.0  # seconds before answering at all


class DocumentServer:
    """A real threaded HTTP server on 127.0.0.1 that counts the requests per path."""

    def __init__(self, ssl_context: Any = None) -> None:
        from werkzeug.serving import make_server

        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self._server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, ssl_context=ssl_context
        )
        self._server.daemon_threads = True  # a trickling answer must not hold up the test
        scheme = "https" if ssl_context else "http"
        self.base = f"{scheme}://127.0.0.1:{self._server.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL,), daemon=True
        )
        self._thread.start()

    def publish(
        self,
        path: str = "/client.json",
        document: Any = None,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        cache_control: str = "max-age=300",
        length: bool = True,
        **route: Any,
    ) -> str:
        """Serve `document` (default: a valid one for this URL) at `path`; returns the URL."""
        url = self.base + path
        if body is None:
            body = json.dumps(valid_document(url) if document is None else document).encode()
        headers = {"Content-Type": content_type, "Cache-Control": cache_control}
        if length:
            headers["Content-Length"] = str(len(body))
        self.routes[path] = Route(body, headers={**headers, **route.pop("headers", {})}, **route)
        return url

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        self.hits[path] += 1
        route = self.routes.get(path)
        if route is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        time.sleep(route.delay)
        start_response(f"{route.status} Answer", list(route.headers.items()))
        if not route.trickle:
            return [route.body]
        return _trickled(route.body, route.trickle)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _trickled(body: bytes, pause: float) -> Iterator[bytes]:
    for index in range(len(body)):
        yield body[index : index + 1]
        time.sleep(pause)


def valid_document(url: str, **changes: Any) -> dict[str, Any]:
    document = {
        "client_id": url,
        "client_name": "Orbit Agent",
        "client_uri": "https://orbit.example/",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    document.update(changes)
    return {key: value for key, value in document.items() if value is not None}


@pytest.fixture
def documents() -> Iterator[DocumentServer]:
    served = DocumentServer()
    yield served
    served.stop()


def self_signed(directory: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "documents.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "documents.pem", directory / "documents.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def https_documents(tmp_path: Path) -> Iterator[tuple[DocumentServer, str]]:
    """A document server over TLS, and the file of its certificate (to trust it or not)."""
    cert_file, key_file = self_signed(tmp_path)
    served = DocumentServer(ssl_context=(cert_file, key_file))
    yield served, cert_file
    served.stop()


def page_text(response: requests.Response) -> str:
    return html.unescape(response.text)


def authorize(browser, client_id: str, **params: str) -> requests.Response:
    client = RegisteredClient(client_id, None, params.pop("redirect_uri", CALLBACK))
    return browser.get(authorize_url(client, CHALLENGE, **params))


def assert_error_page(response: requests.Response, message: str) -> None:
    """RFC 6749 §4.1.2.1: no redirect to a URI nobody vouched for; the user sees why."""
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert message in page_text(response), page_text(response)
    assert "invalid_client" in response.text


def stored_client(http, client_id: str) -> Client | None:
    with http.app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_id == client_id))
        if client is not None:
            db.session.expunge(client)
        return client


def test_discovery_advertises_metadata_documents(http):
    metadata = http.get("/.well-known/oauth-authorization-server", timeout=5)

    assert metadata.json()["client_id_metadata_document_supported"] is True


@pytest.mark.settings(IDP_CLIENT_METADATA_DOCUMENTS="false")
def test_turned_off_a_url_is_an_unknown_client(http, browser, documents, snapshot):
    url = documents.publish()
    before = snapshot()

    response = authorize(browser, url)

    assert_error_page(response, "The client does not exist")
    assert documents.hits["/client.json"] == 0
    assert snapshot() == before
    metadata = http.get("/.well-known/openid-configuration", timeout=5).json()
    assert "client_id_metadata_document_supported" not in metadata


def test_a_document_client_signs_a_user_in_and_gets_tokens(http, browser, documents, make_user):
    make_user(ADA[0])
    url = documents.publish()
    client = RegisteredClient(url, None, CALLBACK)
    verifier, challenge = pkce()

    browser.sign_in(*ADA)
    consent = browser.get(authorize_url(client, challenge, scope="openid offline_access"))
    assert consent.status_code == 302
    assert "Orbit Agent" in browser.get(consent.headers["Location"]).text
    callback = follow(browser, consent.headers["Location"])
    assert callback.startswith(CALLBACK)
    tokens = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(callback)["code"],
            "redirect_uri": CALLBACK,
            "client_id": url,
            "code_verifier": verifier,
        },
        timeout=5,
    )

    assert tokens.status_code == 200, tokens.text
    claims = http.app.extensions["idp.oauth.tokens"].verify(tokens.json()["access_token"])
    assert claims["client_id"] == url
    refreshed = http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens.json()["refresh_token"],
            "client_id": url,
        },
        timeout=5,
    )
    assert refreshed.status_code == 200, refreshed.text
    revoked = http.post(  # RFC 7009 §2.1, a public client naming itself
        "/revoke",
        data={"token": refreshed.json()["refresh_token"], "client_id": url},
        timeout=5,
    )
    assert revoked.status_code == 200, revoked.text
    row = stored_client(http, url)
    assert row is not None
    assert (row.name, row.auth_method, row.dynamic, row.secret_hash) == (
        "Orbit Agent",
        "none",
        False,
        None,
    )
    assert row.redirect_uris == [CALLBACK]
    assert row.client_uri == "https://orbit.example/"
    assert row.last_used_at is not None
    # §4.4: fetched once, then the cached copy served authorize, consent and both token calls.
    assert documents.hits["/client.json"] == 1


def test_a_document_client_may_authenticate_with_private_key_jwt(
    server, browser, documents, make_user
):
    """The draft §4.1 allows asymmetric client authentication; the keys come inline."""
    make_user(ADA[0])
    key = RSAKey.generate_key(2048, parameters={"kid": "doc-key"})
    url = documents.base + "/client.json"
    documents.publish(
        document=valid_document(
            url,
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [key.as_dict(private=False)]},
        )
    )
    verifier, challenge = pkce()
    browser.sign_in(*ADA)
    callback = follow(browser, authorize_url(RegisteredClient(url, None, CALLBACK), challenge))
    token_url = server.url + "/token"
    session = OAuth2Session(
        url,
        key.as_pem(private=True),
        token_endpoint_auth_method=PrivateKeyJWT(token_url),
        redirect_uri=CALLBACK,
    )

    token = session.fetch_token(token_url, code=query_of(callback)["code"], code_verifier=verifier)

    assert "access_token" in token
    public = requests.post(
        token_url,
        data={"grant_type": "authorization_code", "code": "x", "client_id": url},
        timeout=5,
    )
    assert public.json()["error"] == "invalid_client"  # it must sign, not merely name itself


def test_a_loopback_redirect_from_the_document_may_change_port(browser, documents, make_user):
    """RFC 8252 §7.3, also for `localhost` redirect URIs listed in a document."""
    make_user(ADA[0])
    url = documents.publish(
        document=valid_document(
            documents.base + "/client.json", redirect_uris=["http://localhost/callback"]
        )
    )
    browser.sign_in(*ADA)

    location = follow(
        browser,
        authorize_url(RegisteredClient(url, None, "http://localhost:43117/callback"), CHALLENGE),
    )

    assert location.startswith("http://localhost:43117/callback?code=")


@pytest.mark.settings(IDP_ENV="production", IDP_ISSUER="https://login.example.test")
def test_an_https_document_is_fetched_with_its_certificate_checked(
    server, browser, https_documents, monkeypatch
):
    """The draft §3: https. TLS is checked against the URL's host, though the connection goes
    to the address vetted beforehand."""
    documents, cert_file = https_documents
    url = documents.publish()

    untrusted = authorize(browser, url)
    assert_error_page(untrusted, f"The client metadata document at {url} could not be fetched.")

    monkeypatch.setenv("SSL_CERT_FILE", cert_file)  # OpenSSL's trust store, read per context
    trusted = authorize(browser, url)
    assert trusted.status_code == 302
    assert stored_client(server, url).name == "Orbit Agent"
    assert documents.hits["/client.json"] == 1  # the refused handshake sent no request


def test_a_document_naming_another_client_id_is_refused(browser, documents, snapshot):
    url = documents.publish(document=valid_document("https://orbit.example/client.json"))
    before = snapshot()

    response = authorize(browser, url)

    assert_error_page(response, f"The client metadata document at {url} names another client_id")
    assert snapshot() == before


@pytest.mark.settings(IDP_ENV="production", IDP_ISSUER="https://login.example.test")
def test_an_http_document_is_refused_outside_development(browser, documents, snapshot):
    """The draft §3 and MCP: the client_id URL MUST use https."""
    url = documents.publish()
    before = snapshot()

    response = authorize(browser, url)

    assert_error_page(response, "The client_id URL must use https.")
    assert documents.hits["/client.json"] == 0
    assert snapshot() == before


@pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="false")
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_document_on_a_private_address_is_not_fetched(browser, documents, snapshot, host):
    """The draft §6.5: no requests to loopback or private networks on a client's say-so."""
    url = documents.publish().replace("127.0.0.1", host)
    before = snapshot()

    response = authorize(browser, url)

    assert_error_page(response, f"The host {host} of the client_id URL has a private")
    assert documents.hits["/client.json"] == 0
    assert snapshot() == before


def test_a_redirecting_document_is_refused(browser, documents, snapshot):
    """The draft §4: the authorization server MUST NOT follow redirects."""
    target = documents.publish("/elsewhere.json")
    url = documents.publish(status=302, headers={"Location": target}, body=b"")
    before = snapshot()

    response = authorize(browser, url)

    assert_error_page(response, "redirects (HTTP 302); redirects are not followed")
    assert documents.hits["/elsewhere.json"] == 0
    assert snapshot() == before


@pytest.mark.parametrize("declared", [True, False], ids=["with-length", "chunked"])
def test_a_document_over_the_size_limit_is_refused(browser, documents, snapshot, declared):
    """The draft §6.6: a limit on the response size (5 KB by default)."""
    url = documents.base + "/client.json"
    big = valid_document(url, client_name="x" * 6000)
    documents.publish(document=big, length=declared)
    before = snapshot()

    response = authorize(browser, url)

    assert_error_page(response, "is larger than 5120 bytes")
    assert snapshot() == before


@pytest.mark.settings(IDP_CLIENT_METADATA_TIMEOUT="1")
@pytest.mark.parametrize("slowness", [{"trickle": 0.1}, {"delay": 3.0}], ids=["trickle", "stall"])
def test_a_document_slower_than_the_time_limit_is_refused(browser, documents, snapshot, slowness):
    """The draft §6.5: one deadline for the whole fetch, however slowly bytes arrive."""
    url = documents.publish(**slowness)
    before = snapshot()

    response = authorize(browser, url)

    assert_error_page(response, "did not arrive within 1 second")
    assert snapshot() == before


BAD_DOCUMENTS = {
    "invalid JSON": ({"body": b'{"client_id": '}, "is not valid JSON"),
    "a JSON array": ({"body": b"[]"}, "is not a JSON object"),
    "served as HTML": ({"content_type": "text/html"}, "is not served as application/json"),
    "a 404": ({"status": 404}, "answered HTTP 404, not 200"),
    "no client_name": ({"changes": {"client_name": None}}, "has no client_name"),
    "no redirect_uris": ({"changes": {"redirect_uris": None}}, "has no redirect_uris"),
    "a client secret": (
        {"changes": {"client_secret": "s3cret"}},
        "must not contain a client secret",
    ),
    "secret-based auth": (
        {"changes": {"token_endpoint_auth_method": "client_secret_basic"}},
        "token_endpoint_auth_method must be one of none, private_key_jwt",
    ),
    "client_credentials": (
        {"changes": {"grant_types": ["client_credentials"], "response_types": []}},
        "asks for client_credentials; only authorization_code and refresh_token are allowed",
    ),
    "a redirect URI with a user name": (
        {"changes": {"redirect_uris": ["http://evil@127.0.0.1/cb"]}},
        "must not contain a user name or password",
    ),
    "an http redirect URI on a public host": (
        {"changes": {"redirect_uris": ["http://orbit.example/cb"]}},
        "may use http only on a loopback address",
    ),
}


@pytest.mark.parametrize("case", BAD_DOCUMENTS.values(), ids=BAD_DOCUMENTS.keys())
def test_a_bad_document_is_refused_with_its_reason(browser, documents, snapshot, case):
    """The draft §4 (200 and JSON only) and §4.1 (what a document must and must not hold)."""
    served, message = case
    url = documents.base + "/client.json"
    served = dict(served)
    if "changes" in served:
        served["document"] = valid_document(url, **served.pop("changes"))
    documents.publish(**served)
    before = snapshot()

    response = authorize(browser, url)

    assert_error_page(response, message)
    assert snapshot() == before


def test_a_redirect_uri_missing_from_the_document_gets_an_error_page(browser, documents):
    """The draft §6.1: the redirect URI must be one the document lists."""
    url = documents.publish()

    response = authorize(browser, url, redirect_uri="https://evil.example/callback")

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "invalid_request" in response.text


def test_a_cached_document_is_not_fetched_again_within_max_age(browser, documents):
    """The draft §4.4: the cache follows Cache-Control max-age."""
    url = documents.publish(cache_control="public, max-age=600")

    assert authorize(browser, url).status_code == 302
    assert authorize(browser, url).status_code == 302

    assert documents.hits["/client.json"] == 1


def test_a_no_store_document_is_fetched_every_time_and_changes_apply(http, browser, documents):
    """The draft §4.4: no-store is not cached; a changed document updates the client."""
    url = documents.publish(cache_control="no-store")
    assert authorize(browser, url).status_code == 302
    documents.publish(
        document=valid_document(url, client_name="Orbit Agent 2"), cache_control="no-store"
    )

    assert authorize(browser, url).status_code == 302

    assert documents.hits["/client.json"] == 2
    assert stored_client(http, url).name == "Orbit Agent 2"


def test_a_document_that_fails_at_the_token_endpoint_is_invalid_client(
    http, browser, documents, snapshot
):
    """RFC 6749 §5.2: a client that cannot be identified is invalid_client."""
    url = documents.publish(cache_control="no-store")
    assert authorize(browser, url).status_code == 302  # the client row exists now
    documents.publish(
        document=valid_document("https://other.example/c.json"), cache_control="no-store"
    )
    before = snapshot()

    response = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": "whatever",
            "redirect_uri": CALLBACK,
            "client_id": url,
            "code_verifier": "v" * 43,
        },
        timeout=5,
    )

    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"
    assert "names another client_id" in response.json()["error_description"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://a.example/c.json#x", "must not contain a fragment"),
        ("https://a.example/c.json#", "must not contain a fragment"),
        ("https://user:pw@a.example/c.json", "must not contain a user name or password"),
        ("https://a.example", "must have a path, such as /client-metadata.json"),
        ("https://a.example/", "must have a path, such as /client-metadata.json"),
        ("https://a.example/a/../c.json", "must not contain . or .. path segments"),
        ("https://a.example/./c.json", "must not contain . or .. path segments"),
        ("http://a.example/c.json", "must use https"),
        ("https://a.example/" + "c" * 200, "is longer than 200 characters"),
        ("https://a.example/c d.json", "must be ASCII without spaces"),
    ],
)
def test_client_id_urls_follow_the_drafts_rules(url, problem):
    """The draft §3: https, a path, no dot segments, no fragment, no user information."""
    assert problem_with_url(url, allow_http=False) == problem
    assert problem_with_url("https://a.example/c.json?v=1", allow_http=False) is None


def test_a_url_with_a_fragment_gets_an_error_page(browser, documents, snapshot):
    before = snapshot()

    response = authorize(browser, documents.publish() + "#frag")

    assert_error_page(response, "The client_id URL must not contain a fragment.")
    assert documents.hits["/client.json"] == 0
    assert snapshot() == before


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata services
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (the unspecified address, refused)
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses_are_recognised(address):
    """The draft §6.5: private, loopback, link-local, multicast, reserved, unspecified."""
    assert not is_public(address)


def test_public_addresses_are_allowed():
    assert is_public("93.184.216.34")
    assert is_public("2606:2800:220:1:248:1893:25c8:1946")


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("max-age=600", 600),
        ("public, max-age=3600", 3600),
        ("max-age=5", 60),  # not below the minimum
        ("max-age=9999999", 86400),  # not above the maximum
        (None, 60),
        ("no-store", 0),
        ("no-cache, max-age=600", 0),
        ("s-maxage=600", 60),
    ],
)
def test_cache_lifetime_follows_cache_control_within_bounds(header, seconds):
    """The draft §4.4: honour the HTTP cache headers, within our own bounds."""
    assert cache_seconds(header) == seconds


def test_a_document_may_list_the_scopes_of_a_registered_resource(
    http, app, browser, documents, make_user
):
    """The document's `scope` is checked as a registration's is (RFC 7591 §2): the scopes
    of a registered resource are valid, and a token for it carries them (RFC 8707 §2). As
    for a client that registered itself, the list does not cap the OpenID Connect scopes
    it may ask for (the MCP SDKs add `offline_access`)."""
    make_user(ADA[0])
    notes = "https://notes.example.com/mcp"
    with app.app_context():
        create_resource(notes, "Notes", {"notes:read": "Read your notes"})
    url = documents.base + "/client.json"
    documents.publish(document=valid_document(url, scope="notes:read"))
    client = RegisteredClient(url, None, CALLBACK)
    verifier, challenge = pkce()
    browser.sign_in(*ADA)

    scope = "notes:read offline_access"
    callback = follow(browser, authorize_url(client, challenge, scope=scope, resource=notes))
    tokens = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(callback)["code"],
            "redirect_uri": CALLBACK,
            "client_id": url,
            "code_verifier": verifier,
        },
        timeout=5,
    )

    assert tokens.status_code == 200, tokens.text
    claims = http.app.extensions["idp.oauth.tokens"].verify(tokens.json()["access_token"])
    assert (claims["aud"], claims["scope"]) == (notes, "notes:read")
    assert "refresh_token" in tokens.json()
    assert stored_client(http, url).scope == "notes:read"
