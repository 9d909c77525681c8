"""Upstreams a test scripts, on 127.0.0.1: answers JSON as a real provider's documented API
does, so the relying party's refusals can be shown on answers a correct provider never sends.

`JsonServer(routes)`: each route maps (method, path) to a function of the request (its form
or query and headers) returning (status, JSON). `ScriptedOp`: an OpenID Connect provider
whose next ID token's claims and signing key the test chooses.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

Handler = Callable[[dict[str, str], dict[str, str]], tuple[int, Any]]


class JsonServer:
    def __init__(self, routes: dict[tuple[str, str], Handler]) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        server = self

        class Answer(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer("GET", parse_qs(urlsplit(self.path).query))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._answer("POST", parse_qs(self.rfile.read(length).decode()))

            def _answer(self, method: str, raw: dict[str, list[str]]) -> None:
                params = {k: v[0] for k, v in raw.items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                path = urlsplit(self.path).path
                server.seen.append((method, path, params, headers))
                handler = server.routes.get((method, path))
                status, body = handler(params, headers) if handler else (404, {})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class ScriptedOp:
    """An OpenID Connect provider whose ID tokens say what the test wants."""

    def __init__(self, client_id: str = "scripted-client") -> None:
        self.client_id = client_id
        self.key = RSAKey.generate_key(2048, parameters={"kid": "op-key"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "op-key"})
        self.claims: dict[str, Any] = {}
        self.sign_with = self.key
        self.userinfo: dict[str, Any] | None = None  # served, and in discovery, when set
        self.server = JsonServer(
            {
                ("GET", "/.well-known/openid-configuration"): self._discovery,
                ("GET", "/jwks"): lambda p, h: (200, {"keys": [self.key.as_dict(private=False)]}),
                ("POST", "/token"): self._token,
                ("GET", "/userinfo"): lambda p, h: (200, self.userinfo),
            }
        )
        self.url = self.server.url

    def id_token_claims(self, sent_nonce: str, **changes: Any) -> None:
        now = int(time.time())
        self.claims = {
            "iss": self.url,
            "sub": "scripted-1",
            "aud": self.client_id,
            "exp": now + 300,
            "iat": now,
            "nonce": sent_nonce,
            "email": "grace@example.com",
            "email_verified": True,
            **changes,
        }

    def _discovery(self, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        userinfo = {"userinfo_endpoint": self.url + "/userinfo"} if self.userinfo else {}
        return 200, {
            **userinfo,
            "issuer": self.url,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "jwks_uri": self.url + "/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def _token(self, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        header = {"alg": "RS256", "kid": "op-key"}
        token = jwt.encode(header, self.claims, self.sign_with)
        return 200, {"access_token": "at", "token_type": "Bearer", "id_token": token}

    def stop(self) -> None:
        self.server.stop()
