"""Fixtures of the SAML identity provider's tests: our metadata, a python3-saml SP registered
with us, and reading the auto-posting form our answers come in."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from idp.federation.saml_idp import registry
from tests.federation.saml_sp_peer import SamlSp

SP_BASE = "http://sp.test"
FORM_ACTION = re.compile(r'<form method="post" action="([^"]*)" id="form-post">')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


def posted(page: str) -> tuple[str, dict[str, str]]:
    """The action and fields of our auto-posting form (templates/saml/post.html)."""
    action = FORM_ACTION.search(page)
    assert action, page[:500]
    fields = {html.unescape(k): html.unescape(v) for k, v in HIDDEN.findall(page)}
    return html.unescape(action.group(1)), fields


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def register(app: Flask, sp: SamlSp, **choices: Any) -> None:
    options = {"attributes": ["email", "name", "organizations", "organization_roles"], **choices}
    with app.app_context():
        registry.register(sp.metadata().encode(), registry.Choices(**options))


@pytest.fixture
def idp_metadata(http: Any) -> str:
    answer = http.get("/saml/metadata")
    assert answer.status_code == 200
    return str(answer.text)


@pytest.fixture
def make_sp(app: Flask, idp_metadata: str) -> Any:
    """Factory: an SP at http://sp.test (or `base`), registered here with `choices`."""

    def make(base: str = SP_BASE, *, register_it: bool = True, **options: Any) -> SamlSp:
        names = set(registry.Choices.__annotations__) - {"name_id_format"}
        choices = {k: options.pop(k) for k in list(options) if k in names}
        sp = SamlSp(base, idp_metadata, **options)
        if register_it:
            register(app, sp, name_id_format=options.get("name_id_format", "email"), **choices)
        return sp

    return make
