"""The management API's endpoints (/api), one module per noun: JSON for what the admin console
does, declared with `idp.api.registry` (method, path, permission, schemas), routed and checked
by `idp.api.views`, described at /api/openapi.json by `idp.api.openapi`. A new noun is a
module here, imported below, and its scopes in idp.oauth.management.
"""

from __future__ import annotations

from flask import Flask

from idp.api import views
from idp.api.endpoints import (
    api_keys,
    audit,
    clients,
    members,
    organizations,
    people,
    people_actions,
    resources,
    signing_keys,
    teams,
)

NOUNS = (
    clients,
    resources,
    signing_keys,
    api_keys,
    people,
    people_actions,
    organizations,
    members,
    teams,
    audit,
)


def init_app(app: Flask) -> None:
    views.init_app(app)
