"""The consent page names the host the code will be sent to in the form DNS uses.

An internationalised host is shown in its ASCII form (IDNA, RFC 5891 §4; RFC 3986 §3.2.2:
"a URI producer should provide these registered names in the IDNA encoding"), so a
look-alike of a familiar name cannot pass for it (UTS #39 §4, confusable detection: the
Cyrillic small ie, U+0435, renders as Latin "e"). RFC 6749 §10.12 and OpenID Connect Core
§3.1.2.4: the person must be able to tell which app and which destination they consent to.
"""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.oauth.conftest import authorize_url, pkce

LOOK_ALIKE = "https://\u0435xample.com/callback"  # example.com with a Cyrillic first letter


@pytest.mark.parametrize(
    ("redirect_uri", "shown"),
    [
        (LOOK_ALIKE, "xn--xample-2of.com"),
        ("https://b\u00fccher.example:8443/cb", "xn--bcher-kva.example:8443"),
        ("https://example.com/callback", "example.com"),
    ],
)
def test_the_consent_page_shows_the_redirect_host_in_ascii(
    browser, make_user, make_client, redirect_uri, shown
):
    make_user("ada@example.com")
    client = make_client(redirect_uris=[redirect_uri])
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303

    to_consent = browser.get(authorize_url(client, pkce()[1]))
    page = browser.get(to_consent.headers["Location"])

    assert page.status_code == 200, page.text
    assert f"you will be sent to <strong>{shown}</strong>" in page.text
    assert "\u0435xample" not in page.text and "b\u00fccher" not in page.text
