"""The app under a real threaded WSGI server on 127.0.0.1: only for tests that need a socket
(Chromium, the MCP SDKs, node clients, other processes, TLS, something fetching over HTTP)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from idp import db as database
from idp.app import create_app
from idp.settings import Settings
from tests.helpers.waiting import settle

# How often serve_forever looks for a shutdown request: the default 0.5 s was paid by every
# test at teardown.
POLL_INTERVAL = 0.02


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    """The app under a real threaded WSGI server on 127.0.0.1, on a free port."""

    def __init__(self, env: dict[str, str], ssl_context: Any = None, issuer_path: str = "") -> None:
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, _unset_app, threaded=True, ssl_context=ssl_context
        )
        # Let `stop` wait for requests in flight, so no thread holds a database connection
        # (and its locks) after the test.
        self._server.daemon_threads = False
        self._server.block_on_close = True  # type: ignore[attr-defined]
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.port}"
        self.base = self.url  # the same surface as AppClient: `base`, `app`, get, post, request
        env.setdefault("IDP_ISSUER", self.url + issuer_path)
        self.settings = Settings.from_env(env)
        self.app: Flask = create_app(self.settings)
        self._server.app = self.app
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL,), daemon=True
        )
        self._thread.start()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An HTTP request to `path` on this server, as `requests.request` (timeout 10 s)."""
        timeout = kwargs.pop("timeout", 10)
        return requests.request(method, self.url + path, timeout=timeout, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, data=data, **kwargs)

    def put(self, path: str, data: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, data=data, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        settle(timeout=30)  # work after an answer must not outlive its app (or use its pool)
        with self.app.app_context():
            database.dispose()


def _unset_app(environ: Any, start_response: Any) -> list[bytes]:
    raise RuntimeError("the live server's app is set right after binding")
