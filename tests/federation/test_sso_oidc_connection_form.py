"""The organization's SSO page, adding and changing an OpenID Connect connection: the same
options as a SAML one (default role, a claim mapped to roles, enabled, required) and the
scopes to ask the IdP for (OIDC Core §3.1.2.1 `scope`, `openid` always first; RFC 6749 §3.3
for what a scope may contain)."""

from __future__ import annotations

import pytest

from idp.federation.sso.models import SsoConnection
from idp.identity.organization_models import Organization
from tests.federation.test_sso_domains import only, owner_of

ISSUER = "https://login.corp.example"


def add_oidc(browser, **fields: str):  # type: ignore[no-untyped-def]
    form = {
        "kind": "oidc",
        "name": "Corp OIDC",
        "issuer": ISSUER,
        "client_id": "idp-at-corp",
        "client_secret": "s3cret-at-the-idp",
        "default_role": "member",
        "enabled": "on",
        **fields,
    }
    return browser.submit("/organizations/corp/sso", "/organizations/corp/sso/connections", **form)


def test_the_add_form_offers_every_option_and_the_default_scopes(app, browser):
    owner_of(app, browser)
    page = browser.get("/organizations/corp/sso").text
    oidc_form = page[page.index("Add an OpenID Connect connection") :]

    for name in ("scopes", "role_attribute", "role_map", "enabled", "required"):
        assert f'name="{name}"' in oidc_form
    assert 'value="openid email profile"' in oidc_form
    assert 'name="allow_idp_initiated"' not in oidc_form  # SAML only


def test_an_oidc_connection_keeps_its_role_map_required_flag_and_scopes(app, browser):
    owner_of(app, browser)

    answer = add_oidc(
        browser,
        scopes="email profile groups",
        role_attribute="groups",
        role_map="corp-admins = admin\n",
        required="on",
    )

    assert answer.status_code == 303, answer.text[:500]
    [connection] = only(app, SsoConnection)
    assert connection.config["scopes"] == ["openid", "email", "profile", "groups"]
    assert connection.config["role_attribute"] == "groups"
    assert connection.config["role_map"] == {"corp-admins": "admin"}
    assert connection.required is True
    [organization] = only(app, Organization)
    assert organization.sso_required is True
    page = browser.get("/organizations/corp/sso").text
    assert 'value="openid email profile groups"' in page


def test_no_scopes_typed_asks_for_the_default_ones(app, browser):
    owner_of(app, browser)
    assert add_oidc(browser, scopes="  ").status_code == 303
    [connection] = only(app, SsoConnection)
    assert connection.config["scopes"] == ["openid", "email", "profile"]


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ('email "quoted"', '“"quoted"” is not a valid scope.'),
        ("email back\\slash", "“back\\slash” is not a valid scope."),
        (" ".join(f"s{i}" for i in range(25)), "Ask for at most 20 scopes."),
    ],
)
def test_a_bad_scope_is_refused_and_nothing_stored(app, browser, snapshot, scopes, message):
    owner_of(app, browser)
    before = snapshot()

    answer = add_oidc(browser, scopes=scopes)

    assert answer.status_code == 400
    assert message in answer.text.replace("&#34;", '"').replace("&#92;", "\\")
    assert snapshot() == before
