"""The management API (/api): JSON endpoints for what the admin console does, authenticated
by API keys or client-credentials tokens (idp.api.callers), described at /api/openapi.json.

`registry.py` declares an endpoint (method, path, permission, schemas); `views.py` routes and
checks them; `openapi.py` describes them; one module per noun holds its endpoints. A new noun
is a module here, imported below, and its scopes in idp.oauth.management.
"""

from __future__ import annotations

from flask import Flask

from idp.web.api import api_keys, clients, people, resources, signing_keys, views

NOUNS = (clients, resources, signing_keys, api_keys, people)


def init_app(app: Flask) -> None:
    views.init_app(app)
