"""Single logout with a python3-saml SP (SAML core §3.7, profiles §4.4, bindings §3.4):
SP-initiated, ending our session and answering a signed LogoutResponse; IdP-initiated,
telling each SP that got an assertion in the session when the person signs out here."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.federation.saml_idp_fixtures import path_of, posted
from tests.support import audit_events


def signed_in_at(browser, make_user, sp) -> dict:
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    seen = sp.accept(posted(browser.get(path_of(sp.login_url())).text)[1])
    assert seen["errors"] == []
    return seen


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def is_signed_in(browser) -> bool:
    return browser.get("/account").status_code == 200


def test_sp_initiated_logout_ends_the_session(app, browser, make_user, make_sp):
    """Core §3.7.3: the IdP ends the session the SessionIndex names and answers with a
    LogoutResponse (Success) at the SP's registered SLO endpoint, which python3-saml accepts
    (signature and InResponseTo checked)."""
    sp = make_sp()
    seen = signed_in_at(browser, make_user, sp)
    url = sp.logout_url(seen["name_id"], seen["session_index"], seen["name_id_format"])

    answer = browser.get(path_of(url))

    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(sp.sls + "?SAMLResponse=")
    assert sp.logout_answer(query(location), sp.last_request_id) == []
    assert not is_signed_in(browser)
    assert "saml_logout" in audit_events(app)


def test_logout_request_with_a_bad_signature_changes_nothing(
    app, browser, make_user, make_sp, snapshot
):
    """Bindings §3.4.4.1: a LogoutRequest whose signature fails is refused; the session
    stays."""
    sp = make_sp()
    seen = signed_in_at(browser, make_user, sp)
    url = sp.logout_url(seen["name_id"], seen["session_index"], seen["name_id_format"])
    forged = url.replace("&Signature=", "&Signature=AAAA")
    before = snapshot()

    answer = browser.get(path_of(forged))

    assert answer.status_code == 400
    assert "signature does not verify" in answer.text
    assert is_signed_in(browser)
    assert audit_events(app)[-1] == "saml_request_refused"
    assert snapshot() == before


def test_logout_request_for_another_session_ends_nothing(app, browser, make_user, make_sp):
    """Core §3.7.3.1: the session is found by its SessionIndex and NameID; a guessed index
    ends nothing, and the SP is still answered."""
    sp = make_sp()
    seen = signed_in_at(browser, make_user, sp)
    url = sp.logout_url(seen["name_id"], "_guessed", seen["name_id_format"])

    answer = browser.get(path_of(url))

    assert answer.status_code == 302
    assert is_signed_in(browser)


def test_signing_out_here_tells_the_sp(app, browser, make_user, make_sp):
    """Profiles §4.4.3.1 (front channel): signing out here sends the browser to each SP that
    got an assertion in this session with a signed LogoutRequest; its LogoutResponse brings
    it back, and the walk ends on our signed-out page."""
    sp = make_sp()
    signed_in_at(browser, make_user, sp)

    answer = browser.submit("/account", "/sign-out")

    assert answer.status_code == 302
    walk = answer.headers["Location"]
    assert walk.startswith("/saml/logout/continue/")
    to_sp = browser.get(walk)
    assert to_sp.headers["Location"].startswith(sp.sls + "?SAMLRequest=")
    assert sp.logout_answer(query(to_sp.headers["Location"])) == []
    back = browser.get(path_of(sp.last_redirect))
    assert back.status_code == 200
    assert "You are signed out" in back.text
    assert not is_signed_in(browser)
    assert audit_events(app).count("saml_logout") == 1


def test_sp_initiated_logout_tells_the_other_sps_first(app, browser, make_user, make_sp):
    """Profiles §4.4.3.2: the IdP sends a LogoutRequest to each other session participant,
    then answers the requester's LogoutRequest."""
    first, second = make_sp(), make_sp("http://other-sp.test")
    seen = signed_in_at(browser, make_user, first)
    assert second.accept(posted(browser.get(path_of(second.login_url())).text)[1])["errors"] == []
    url = first.logout_url(seen["name_id"], seen["session_index"], seen["name_id_format"])

    walk = browser.get(path_of(url)).headers["Location"]
    to_second = browser.get(path_of(walk)).headers["Location"]
    assert to_second.startswith(second.sls + "?SAMLRequest=")
    assert second.logout_answer(query(to_second)) == []
    to_first = browser.get(path_of(second.last_redirect)).headers["Location"]

    assert to_first.startswith(first.sls + "?SAMLResponse=")
    assert first.logout_answer(query(to_first), first.last_request_id) == []
    assert not is_signed_in(browser)


def test_openid_logout_tells_the_saml_sps_too(app, browser, make_user, make_sp):
    """OpenID Connect RP-Initiated Logout §2 ends the same session: the SAML SPs that got an
    assertion in it hear of it as well (SAML profiles §4.4.3.1)."""
    sp = make_sp()
    signed_in_at(browser, make_user, sp)

    answer = browser.submit("/logout", "/logout/confirm")

    assert answer.status_code == 302
    to_sp = browser.get(path_of(answer.headers["Location"])).headers["Location"]
    assert to_sp.startswith(sp.sls + "?SAMLRequest=")
    assert not is_signed_in(browser)


def test_a_replayed_logout_request_is_refused(app, browser, make_user, make_sp, snapshot):
    """Core §3.7.1 / profiles §4.4.4.1: each LogoutRequest is used once. The person signed in
    again after the first; the same request sent again ends nothing and is audited."""
    sp = make_sp()
    seen = signed_in_at(browser, make_user, sp)
    url = sp.logout_url(seen["name_id"], seen["session_index"], seen["name_id_format"])
    assert browser.get(path_of(url)).status_code == 302
    browser.sign_in("ada@example.com")
    before = snapshot()

    replayed = browser.get(path_of(url))

    assert replayed.status_code == 400
    assert "This logout request was already used." in replayed.text
    assert is_signed_in(browser)
    assert audit_events(app)[-1] == "saml_request_refused"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("IssueInstant", "2020-01-01T00:00:00Z", "The request is too old or from the future."),
        ("IssueInstant", "2999-01-01T00:00:00Z", "The request is too old or from the future."),
        ("NotOnOrAfter", "2020-01-01T00:00:00Z", "The logout request has expired."),
        ("NotOnOrAfter", "yesterday", "The request has no valid NotOnOrAfter."),
    ],
)
def test_a_stale_or_expired_logout_request_ends_nothing(
    app, browser, make_user, make_sp, snapshot, attribute, value, message
):
    """Core §3.7.1: NotOnOrAfter is when the request expires; an IssueInstant outside five
    minutes (a minute of skew ahead) is refused as for an AuthnRequest. Signed by the SP, so
    only the time is wrong."""
    sp = make_sp()
    seen = signed_in_at(browser, make_user, sp)

    def at(xml: str) -> str:
        if attribute == "IssueInstant":
            return re.sub(r'IssueInstant="[^"]*"', f'IssueInstant="{value}"', xml, count=1)
        return xml.replace("<samlp:LogoutRequest", f'<samlp:LogoutRequest {attribute}="{value}"', 1)

    url = sp.logout_url(seen["name_id"], seen["session_index"], seen["name_id_format"], at)
    before = snapshot()

    answer = browser.get(path_of(url))

    assert answer.status_code == 400
    assert message in answer.text
    assert is_signed_in(browser)
    assert audit_events(app)[-1] == "saml_request_refused"
    assert snapshot() == before


def test_a_relay_state_over_1024_bytes_is_refused(app, browser, make_user, make_sp):
    """Bindings §3.4.3 holds senders to 80 bytes; up to 1024 are taken (SPs that send a whole
    return URL), more is refused before anything is read."""
    sp = make_sp()
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    long_enough = sp.login_url(return_to="https://sp.test/" + "a" * 1000)
    too_long = sp.login_url(return_to="https://sp.test/" + "a" * 1100)

    assert browser.get(path_of(long_enough)).status_code == 200
    refused = browser.get(path_of(too_long))

    assert refused.status_code == 400
    assert "The RelayState is longer than 1024 bytes." in refused.text
