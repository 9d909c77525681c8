"""SP-initiated single sign-on with a python3-saml service provider (SAML profiles §4.1)."""

from __future__ import annotations

from tests.federation.conftest import path_of, posted


def test_sp_initiated_redirect_binding_signs_the_person_in(browser, make_user, make_sp):
    """Profiles §4.1.4: the SP's signed AuthnRequest (bindings §3.4) comes back as a signed
    Response and Assertion that python3-saml accepts with our metadata's certificate."""
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp()

    page = browser.get(path_of(sp.login_url()))

    assert page.status_code == 200, page.text[:500]
    action, fields = posted(page.text)
    assert action == sp.acs
    seen = sp.accept(fields)
    assert seen["errors"] == [], seen["reason"]
    assert seen["name_id"] == "ada@example.com"
    assert seen["attributes"]["email"] == ["ada@example.com"]
