"""MCP end to end: our provider, an MCP server using `idp.resource`, an official MCP SDK
client, and a person in headless Chromium who signs in and consents.

The pieces, each real:
- `server`: the provider (tests/conftest.py);
- `mcp_server`: the SDK's MCPServer under uvicorn (tests/mcp/mcp_server.py);
- `loopback`: the client's redirect URI, a small HTTP server on 127.0.0.1 as a CLI runs one
  (RFC 8252 §7.3); it hands the authorization response to whoever waits for it;
- `person`: signs in and consents in Chromium when an authorization URL is handed over;
- `document_server`: an HTTPS server on 127.0.0.1 publishing client metadata documents (MCP
  authorization 2025-11-25 "Client ID Metadata Documents"), trusted by the provider.

Playwright's sync API keeps an event loop running in the main thread, so SDK clients run
elsewhere (a thread of their own, or a node process) and hand authorization URLs over.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from idp.oauth.resources import create_resource
from tests.conftest import PASSWORD, POLL_INTERVAL, LiveServer
from tests.mcp.mcp_server import McpServerThread
from tests.oauth.test_client_metadata_documents import DocumentServer, self_signed, valid_document

RESOURCE_SCOPES = {"notes:read": "Read your notes", "notes:write": "Change your notes"}
WAIT = 60  # seconds for a client to reach its next step (a browser flow takes a few)


@pytest.fixture
def mcp_server(server: LiveServer) -> Iterator[McpServerThread]:
    """The MCP server, trusting the provider of this test and registered with it as a
    resource (RFC 8707), as `idp resources create URL --name Notes --scope notes:read ...`
    does: its tokens carry its URL as their audience, and nothing else is accepted."""
    running = McpServerThread(server.url)
    with server.app.app_context():
        create_resource(running.url, "Notes", RESOURCE_SCOPES)
    yield running
    running.stop()


class Loopback:
    """A loopback redirect URI (RFC 8252 §7.3) receiving authorization responses."""

    def __init__(self) -> None:
        self.responses: queue.Queue[dict[str, str]] = queue.Queue()
        received = self.responses

        class Callback(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_error(404)
                    return
                received.put({k: v[0] for k, v in parse_qs(parts.query).items()})
                body = b"<!doctype html><title>Done</title><h1>You can close this window</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Callback)
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_port}/callback"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL,), daemon=True
        )
        self._thread.start()

    def next_response(self) -> dict[str, str]:
        """The query of the next authorization response (RFC 6749 §4.1.2), waiting for it."""
        return self.responses.get(timeout=WAIT)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    receiver = Loopback()
    yield receiver
    receiver.stop()


@dataclass
class Person:
    """Someone at the browser: opens the authorization URL a client hands over, signs in if
    asked, reads the consent page and allows it."""

    page: Page
    email: str
    seen: list[str] = field(default_factory=list)  # what each consent page asked for
    introduced: list[str] = field(default_factory=list)  # how each one presented the client

    def authorize(self, url: str, *, expect_sign_in: bool) -> None:
        page = self.page
        page.goto(url)
        if expect_sign_in:
            page.get_by_label("Email").fill(self.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
        # No sign-in form here when the session is live: the next page is the consent page.
        expect(page.get_by_role("heading", level=1)).to_contain_text("to access your account?")
        self.seen.append(page.locator("ul.scopes").inner_text())
        self.introduced.append(page.locator(".card.client").inner_text())
        page.get_by_role("button", name="Allow").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("You can close this window")


@pytest.fixture
def person(context: BrowserContext) -> Person:
    return Person(context.new_page(), "ada@example.com")


def next_authorization_url(urls: queue.Queue[str], ended: Callable[[], bool]) -> str:
    """The next URL the client asks the person to open. `ended` tells whether the client
    stopped (or raises its error): then there is nothing to wait for."""
    for _ in range(WAIT * 10):
        try:
            return urls.get(timeout=0.1)
        except queue.Empty:
            if ended():
                raise AssertionError("the client ended without asking to authorize") from None
    raise AssertionError(f"no authorization URL from the client in {WAIT}s")


@pytest.fixture
def document_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentServer]:
    """Where an MCP client publishes its client metadata document: HTTPS on 127.0.0.1 (the
    SDKs accept only https client_id URLs), with a self-signed certificate the provider
    trusts through SSL_CERT_FILE (OpenSSL reads it for each new context). Only the provider
    fetches the document; the client merely names its URL. Fetching from 127.0.0.1 needs
    IDP_CLIENT_METADATA_ALLOW_PRIVATE (see `document_client_settings`)."""
    cert_file, key_file = self_signed(tmp_path)
    served = DocumentServer(ssl_context=(cert_file, key_file))
    monkeypatch.setenv("SSL_CERT_FILE", cert_file)
    yield served
    served.stop()


document_client_settings = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")


def publish_client_document(served: DocumentServer, name: str, redirect_uri: str) -> str:
    """Publish a public MCP client's metadata document; returns its URL, the client_id
    (the document's client_id is that exact URL, as the draft §4.1 requires). It lists the
    MCP server's own scopes, as a client made for that server would."""
    url = served.base + "/notes-cli/client.json"
    document = valid_document(
        url,
        client_name=name,
        client_uri=None,
        redirect_uris=[redirect_uri],
        scope=" ".join(RESOURCE_SCOPES),
    )
    return served.publish("/notes-cli/client.json", document)
