"""Single sign-on with a python3-saml service provider (SAML profiles §4.1): SP-initiated over
HTTP-Redirect and HTTP-POST, through our sign-in page, ForceAuthn, IsPassive, IdP-initiated,
NameID formats and the attributes released."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import select

from idp.db import db
from idp.federation.saml_idp.attributes import persistent_name_id
from idp.identity import members, organizations
from idp.identity.models import User
from tests.conftest import SECRET
from tests.federation.saml_idp_fixtures import path_of, posted
from tests.support import audit_events


def test_sp_initiated_redirect_binding_signs_the_person_in(app, browser, make_user, make_sp):
    """Profiles §4.1.4: the SP's signed AuthnRequest (bindings §3.4) comes back as a signed
    Response and Assertion that python3-saml accepts with our metadata's certificate."""
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp()

    page = browser.get(path_of(sp.login_url(return_to="/after")))

    assert page.status_code == 200, page.text[:500]
    action, fields = posted(page.text)
    assert action == sp.acs
    assert fields["RelayState"] == "/after"
    seen = sp.accept(fields)
    assert seen["errors"] == [], seen["reason"]
    assert seen["name_id"] == "ada@example.com"
    assert seen["name_id_format"].endswith("emailAddress")
    assert seen["attributes"]["email"] == ["ada@example.com"]
    assert seen["attributes"]["name"] == ["Ada"]
    assert "saml_assertion_issued" in audit_events(app)


def test_signing_in_first_comes_back_to_the_request(browser, make_user, make_sp):
    """Nobody signed in: our sign-in page, then the Response (profiles §4.1.4.1 leaves how
    the IdP authenticates to it)."""
    make_user(email="ada@example.com")
    sp = make_sp()

    answer = browser.get(path_of(sp.login_url()))

    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("/sign-in?")
    resume = parse_qs(urlsplit(location).query)["next"][0]
    assert browser.sign_in("ada@example.com", next=resume).headers["Location"] == resume
    seen = sp.accept(posted(browser.get(resume).text)[1])
    assert seen["errors"] == [] and seen["name_id"] == "ada@example.com"


def test_post_binding_request_is_read_again_with_the_cookie(browser, make_user, make_sp):
    """Bindings §3.5: an AuthnRequest POSTed from the SP's site. Our SameSite=Lax cookie does
    not come with it, so the request is kept and read again by a same-site GET."""
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp()
    signed = sp.signed_authn_request()

    answer = browser.http.post(
        "/saml/sso",
        data={"SAMLRequest": base64.b64encode(signed).decode(), "RelayState": "post"},
        allow_redirects=False,
    )

    assert answer.status_code == 303, answer.text[-1500:]
    action, fields = posted(browser.get(answer.headers["Location"]).text)
    assert action == sp.acs and fields["RelayState"] == "post"
    assert sp.accept(fields)["errors"] == []


def test_force_authn_asks_for_a_fresh_sign_in(browser, make_user, make_sp):
    """Core §3.4.1: ForceAuthn="true": the IdP MUST authenticate the presenter directly
    rather than rely on a previous security context."""
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp()

    answer = browser.get(path_of(sp.login_url(force_authn=True)))

    assert answer.status_code == 302 and answer.headers["Location"].startswith("/sign-in?")
    resume = parse_qs(urlsplit(answer.headers["Location"]).query)["next"][0]
    assert browser.get(resume).headers["Location"].startswith("/sign-in?")  # still not fresh
    browser.sign_in("ada@example.com", next=resume)
    assert sp.accept(posted(browser.get(resume).text)[1])["errors"] == []


def test_is_passive_without_a_session_answers_no_passive(app, browser, make_sp, snapshot):
    """Core §3.4.1 IsPassive and §3.2.2.2: urn:oasis:names:tc:SAML:2.0:status:NoPassive, sent
    to the registered consumer URL; nothing is stored but the audit row."""
    sp = make_sp()
    before = snapshot()

    page = browser.get(path_of(sp.login_url(is_passive=True)))

    action, fields = posted(page.text)
    assert action == sp.acs
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "urn:oasis:names:tc:SAML:2.0:status:Responder" in xml
    assert "urn:oasis:names:tc:SAML:2.0:status:NoPassive" in xml
    seen = sp.accept(fields)
    assert not seen["authenticated"] and "Responder" in (seen["reason"] or "")
    assert audit_events(app)[-1] == "saml_request_refused"
    assert snapshot() == before


def test_persistent_name_id_is_opaque_stable_and_differs_per_sp(app, browser, make_user, make_sp):
    """Core §8.3.7: a persistent identifier is opaque, the same at each sign-in to one SP, and
    another SP gets another one."""
    user_id = make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    first = make_sp(name_id_format="persistent")
    second = make_sp("http://other-sp.test", name_id_format="persistent")

    seen = [
        sp.accept(posted(browser.get(path_of(sp.login_url())).text)[1])
        for sp in (first, first, second)
    ]

    assert [s["errors"] for s in seen] == [[], [], []]
    assert seen[0]["name_id"] == seen[1]["name_id"] != seen[2]["name_id"]
    assert seen[0]["name_id_format"].endswith(":persistent")
    assert "ada" not in seen[0]["name_id"] and seen[0]["name_id"] != str(user_id)
    assert seen[0]["name_id"] == persistent_name_id(user_id, first.entity_id, SECRET)


def test_organization_attributes_are_released(app, browser, make_user, make_sp):
    """Core §2.7.3: the AttributeStatement lists the person's organizations and roles."""
    make_user(email="ada@example.com")
    with app.app_context():
        ada = db.session.scalars(select(User).filter_by(email="ada@example.com")).one()
        org = organizations.create(ada, organizations.Fields(name="Acme", slug="acme"))
        assert members.find(org.id, ada.id) is not None
    browser.sign_in("ada@example.com")
    sp = make_sp()

    seen = sp.accept(posted(browser.get(path_of(sp.login_url())).text)[1])

    assert seen["attributes"]["organizations"] == ["acme"]
    assert seen["attributes"]["organization_roles"] == ["acme:owner"]


def test_idp_initiated_sign_in(app, browser, make_user, make_sp):
    """Profiles §4.1.5: an unsolicited Response, with no InResponseTo, for an SP that allows
    it; python3-saml accepts it when it expects no particular request."""
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp(allow_idp_initiated=True)

    page = browser.get("/saml/sso/initiate?" + urlencode({"sp": sp.entity_id}))

    action, fields = posted(page.text)
    assert action == sp.acs
    assert "InResponseTo" not in base64.b64decode(fields["SAMLResponse"]).decode()
    seen = sp.accept(fields)
    assert seen["errors"] == [] and seen["name_id"] == "ada@example.com"


def test_idp_initiated_refused_when_the_sp_does_not_allow_it(
    app, browser, make_user, make_sp, snapshot
):
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp()
    before = snapshot()

    page = browser.get("/saml/sso/initiate?" + urlencode({"sp": sp.entity_id}))

    assert page.status_code == 400
    assert "does not accept sign-ins started here" in page.text
    assert "form-post" not in page.text
    assert audit_events(app)[-1] == "saml_request_refused"
    assert snapshot() == before
