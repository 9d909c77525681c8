"""The host the code will be sent to, as the person sees it on the consent page.

A URI is ASCII (RFC 3986 §2), and "a URI producer should provide these registered names in
the IDNA encoding" (RFC 3986 §3.2.2): registration refuses an internationalised host written
in Unicode, so a look-alike of a familiar name (UTS #39 §4: the Cyrillic small ie, U+0435,
renders as Latin "e") can only be registered as the different `xn--` name it is. A client
stored with such a URI before registration refused it still shows that ASCII form on the
consent page (RFC 6749 §10.12; OpenID Connect Core §3.1.2.4: the person must be able to tell
which destination they consent to).
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from idp.db import db
from idp.errors import InvalidInput
from idp.oauth.clients import ClientSpec, create_client
from idp.oauth.models import Client
from tests.conftest import PASSWORD
from tests.oauth.conftest import authorize_url, pkce

LOOK_ALIKE = "https://\u0435xample.com/callback"  # example.com with a Cyrillic first letter
UMLAUT = "https://b\u00fccher.example:8443/cb"


@pytest.mark.parametrize("redirect_uri", [LOOK_ALIKE, UMLAUT])
def test_an_internationalised_host_is_registered_in_its_idna_form(app, snapshot, redirect_uri):
    before = snapshot()

    with app.app_context(), pytest.raises(InvalidInput) as refused:
        create_client(ClientSpec(name="Look-alike", redirect_uris=[redirect_uri]))

    assert str(refused.value) == (
        f"Redirect URI {redirect_uri!r} must be ASCII: write an internationalised host in its"
        " IDNA form (xn--...)."
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (LOOK_ALIKE, "xn--xample-2of.com"),
        (UMLAUT, "xn--bcher-kva.example:8443"),
        ("https://xn--xample-2of.com/callback", "xn--xample-2of.com"),
        ("https://example.com/callback", "example.com"),
    ],
)
def test_the_consent_page_shows_the_redirect_host_in_ascii(
    app, browser, make_user, make_client, stored, shown
):
    make_user("ada@example.com")
    client = make_client()
    with app.app_context():  # as an earlier version, which took Unicode hosts, stored it
        row = update(Client).where(Client.client_id == client.client_id)
        db.session.execute(row.values(redirect_uris=[stored]))
        db.session.commit()
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303

    # The one registered URI is used when the request names none (RFC 6749 §3.1.2.3).
    to_consent = browser.get(authorize_url(client, pkce()[1], redirect_uri=None))
    page = browser.get(to_consent.headers["Location"])

    assert page.status_code == 200, page.text
    assert f"you will be sent to <strong>{shown}</strong>" in page.text
    assert "\u0435xample" not in page.text and "b\u00fccher" not in page.text
