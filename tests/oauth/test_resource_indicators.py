"""Resource indicators (RFC 8707): `resource` at the authorization and token endpoints.

RFC 8707 §2: a resource is an absolute URI without a fragment; an invalid, unknown or
unpermitted one is `invalid_target`. §2.1: the authorization request may name several; the
user's consent covers those. §2.2: the token request may name a subset of what was
authorized; the access token's audience is the resource(s) and its scope what they accept.
RFC 6749 §4.1.2.1 (errors redirected with `state`, RFC 9207 `iss`) and §5.2 (JSON errors at
the token endpoint). Consent is remembered per client and resource.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import update

from idp.db import db
from idp.oauth.models import Client
from idp.oauth.resources import create_resource, delete_resource
from tests.conftest import PASSWORD
from tests.oauth.conftest import RegisteredClient, authorize_url, follow, pkce, query_of
from tests.oauth.issued import claims_of, post_as, refresh
from tests.oauth.test_client_metadata_documents import CALLBACK, DocumentServer

NOTES = "https://notes.example.com/mcp"
FILES = "https://files.example.com/api"
ADA = ("ada@example.com", PASSWORD)


@pytest.fixture
def resources(app):
    with app.app_context():
        create_resource(
            NOTES,
            "Notes",
            {"notes:read": "Read your notes", "notes:write": "Change your notes"},
            access_token_ttl=600,
        )
        create_resource(FILES, "Files", {"files:read": "Read your files"})


@pytest.fixture
def ada(make_user):
    return make_user("ada@example.com")


def with_resources(url: str, *uris: str) -> str:
    return url + "&" + urlencode([("resource", uri) for uri in uris])


def code_for(browser, client, scope: str, *uris: str, consent="allow") -> tuple[str, str]:
    """Authorize with `resource` parameters; returns (code, PKCE verifier)."""
    verifier, challenge = pkce()
    url = with_resources(authorize_url(client, challenge, scope=scope), *uris)
    callback = follow(browser, url, sign_in=ADA, consent=consent)
    params = query_of(callback)
    assert "code" in params, params
    return params["code"], verifier


def redeem(http, client, code, verifier, *uris: str):
    form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri),
        ("code_verifier", verifier),
        *[("resource", uri) for uri in uris],
    ]
    return post_as(http, client, "/token", **_flat(form))


def _flat(form: list[tuple[str, str]]) -> dict:
    """requests sends a list value as repeated fields: resource=a&resource=b."""
    data: dict[str, list[str]] = {}
    for key, value in form:
        data.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in data.items()}


# The code grant


def test_the_access_token_is_bound_to_the_resource(http, browser, ada, make_client, resources):
    client = make_client()
    code, verifier = code_for(browser, client, "openid profile offline_access notes:read", NOTES)

    response = redeem(http, client, code, verifier)

    assert response.status_code == 200, response.text
    body = response.json()
    access = claims_of(http, body["access_token"])
    assert access["aud"] == NOTES
    # OIDC scopes do not go into a token for a resource that does not list them
    assert access["scope"] == "notes:read"
    assert body["scope"] == "notes:read"
    assert body["expires_in"] == 600  # the resource's lifetime
    assert access["exp"] - access["iat"] == 600
    assert "id_token" in body and "refresh_token" in body  # as before
    assert claims_of(http, body["id_token"])["aud"] == client.client_id


def test_several_resources_make_a_list_audience(http, browser, ada, make_client, resources):
    client = make_client()
    code, verifier = code_for(browser, client, "openid notes:read files:read", NOTES, FILES)

    body = redeem(http, client, code, verifier).json()

    access = claims_of(http, body["access_token"])
    assert access["aud"] == [NOTES, FILES]
    assert access["scope"] == "notes:read files:read"
    assert body["expires_in"] == 600  # the shortest lifetime a resource sets


def test_the_token_request_may_narrow_to_one_resource(http, browser, ada, make_client, resources):
    client = make_client()
    code, verifier = code_for(browser, client, "openid notes:read files:read", NOTES, FILES)

    body = redeem(http, client, code, verifier, FILES).json()

    access = claims_of(http, body["access_token"])
    assert access["aud"] == FILES
    assert access["scope"] == "files:read"
    assert body["expires_in"] == 3600  # Files sets no lifetime: the client's


def test_without_resource_the_audience_is_the_issuer(http, browser, ada, make_client):
    client = make_client()
    code, verifier = code_for(browser, client, "openid profile")

    access = claims_of(http, redeem(http, client, code, verifier).json()["access_token"])

    assert access["aud"] == http.base
    assert access["scope"] == "openid profile"


@pytest.mark.parametrize(
    ("authorized", "asked"),
    [
        ((NOTES,), FILES),  # another registered resource than the user allowed
        ((), NOTES),  # a resource when the user allowed none
        ((NOTES,), "https://notes.example.com/mcp#x"),  # a fragment (RFC 8707 §2)
    ],
    ids=["another", "none-authorized", "fragment"],
)
def test_a_token_request_for_another_resource_is_refused_and_stores_nothing(
    http, browser, ada, make_client, resources, snapshot, authorized, asked
):
    """RFC 8707 §2.2: the audience the user consented to is the only one a token can carry."""
    client = make_client()
    scope = "openid notes:read" if authorized else "openid"
    code, verifier = code_for(browser, client, scope, *authorized)
    before = snapshot()

    response = redeem(http, client, code, verifier, asked)

    assert response.status_code == 400  # RFC 6749 §5.2
    assert response.json()["error"] == "invalid_target"
    assert snapshot() == before
    # The code was not consumed: redeemed as authorized, it still works.
    assert redeem(http, client, code, verifier).status_code == 200


# The authorization endpoint


@pytest.mark.parametrize(
    ("resource", "description"),
    [
        ("https://notes.example.com/mcp#frag", "must not contain a fragment"),  # RFC 8707 §2
        ("/mcp", "must be an absolute URI"),
        ("notes.example.com/mcp", "must be an absolute URI"),
        ("https://unknown.example.com/", "is not known here"),
    ],
)
def test_a_bad_resource_is_invalid_target_at_the_client(
    browser, ada, make_client, resources, snapshot, resource, description
):
    client = make_client()
    before = snapshot()

    location = follow(browser, with_resources(authorize_url(client, pkce()[1]), resource))

    params = query_of(location)
    assert location.startswith(client.redirect_uri)
    assert params["error"] == "invalid_target"
    assert description in params["error_description"]
    assert params["state"] == "st-123"
    assert params["iss"] == browser.base
    assert snapshot() == before


def test_a_bad_resource_is_refused_before_sign_in(browser, make_client, resources):
    """Checked before anything the user sees: no sign-in page for a request that will fail."""
    client = make_client()

    response = browser.get(with_resources(authorize_url(client, pkce()[1]), "urn:x#y"))

    assert response.status_code == 302
    assert response.headers["Location"].startswith(client.redirect_uri)
    assert "invalid_target" in response.headers["Location"]


def test_a_scope_no_named_resource_accepts_is_refused(
    browser, ada, make_client, resources, snapshot
):
    """files:read belongs to Files; a request naming only Notes may not ask for it."""
    client = make_client()
    before = snapshot()

    url = with_resources(authorize_url(client, pkce()[1], scope="openid files:read"), NOTES)
    params = query_of(follow(browser, url))

    assert params["error"] == "invalid_scope"
    assert "files:read" in params["error_description"]
    assert snapshot() == before


def test_a_resource_scope_without_a_resource_is_refused(browser, ada, make_client, resources):
    client = make_client()

    params = query_of(follow(browser, authorize_url(client, pkce()[1], scope="notes:read")))

    assert params["error"] == "invalid_scope"


@pytest.mark.settings(IDP_ALLOW_UNREGISTERED_RESOURCES="true")
def test_an_unregistered_resource_may_be_allowed(http, browser, ada, make_client):
    client = make_client()
    other = "https://api.other.example/"
    code, verifier = code_for(browser, client, "openid profile", other)

    body = redeem(http, client, code, verifier).json()

    access = claims_of(http, body["access_token"])
    assert access["aud"] == other
    assert access["scope"] == "openid profile"  # not cut: the resource's scopes are unknown
    assert body["expires_in"] == 3600


@pytest.mark.settings(IDP_ALLOW_UNREGISTERED_RESOURCES="true")
def test_an_allowed_unregistered_resource_must_still_be_well_formed(
    browser, ada, make_client, snapshot
):
    client = make_client()
    before = snapshot()

    location = follow(browser, with_resources(authorize_url(client, pkce()[1]), "api#x"))

    assert query_of(location)["error"] == "invalid_target"
    assert snapshot() == before


@pytest.mark.settings(IDP_MAX_TOKEN_LIFETIME="300")
def test_the_resource_lifetime_is_capped(http, browser, ada, make_client, resources):
    client = make_client()
    code, verifier = code_for(browser, client, "notes:read", NOTES)

    assert redeem(http, client, code, verifier).json()["expires_in"] == 300


# Consent per client and resource


def test_consent_for_one_resource_does_not_cover_another(
    http, browser, ada, make_client, resources
):
    client = make_client()
    code_for(browser, client, "openid notes:read", NOTES)

    # Notes again: remembered, no consent page.
    code_for(browser, client, "openid notes:read", NOTES, consent=None)
    # Files: asked again.
    url = with_resources(authorize_url(client, pkce()[1], scope="openid files:read"), FILES)
    response = browser.get(url)
    assert response.headers["Location"].startswith("/authorize/consent/")
    page = browser.get(response.headers["Location"]).text
    assert "Files" in page and FILES in page
    assert "Read your files" in page


def test_the_consent_page_names_the_resource_and_its_scopes_in_plain_words(
    browser, ada, make_client, resources
):
    client = make_client(name="Agent")
    browser.sign_in(*ADA)
    url = with_resources(authorize_url(client, pkce()[1], scope="openid notes:write"), NOTES)

    page = browser.get(browser.get(url).headers["Location"]).text

    assert "Notes" in page and NOTES in page
    assert "Change your notes" in page
    assert "Know who you are" in page  # openid, in the words of idp.oauth.scopes
    assert "This app was registered by the administrator." in page
    assert "127.0.0.1:9" in page  # where it will be redirected
    assert 'name="decision" value="allow"' in page and 'name="decision" value="deny"' in page


@pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
def test_the_consent_page_says_how_the_app_came_to_be(app, browser, ada, make_client, resources):
    dynamic = make_client(name="Self")
    with app.app_context():
        db.session.execute(
            update(Client).where(Client.client_id == dynamic.client_id).values(dynamic=True)
        )
        db.session.commit()
    admin = make_client(name="Operator's")
    served = DocumentServer()
    try:
        documented = RegisteredClient(served.publish(), None, CALLBACK)
        browser.sign_in(*ADA)
        pages = {}
        for client in (dynamic, documented, admin):
            url = with_resources(authorize_url(client, pkce()[1], scope="notes:read"), NOTES)
            pages[client.client_id] = browser.get(browser.get(url).headers["Location"]).text
    finally:
        served.stop()

    assert "This app registered itself." in pages[dynamic.client_id]
    assert "identified by a metadata document at 127.0.0.1" in pages[documented.client_id]
    assert "This app was registered by the administrator." in pages[admin.client_id]


def test_denying_consent_stores_no_consent(browser, ada, make_client, resources, snapshot):
    client = make_client()
    browser.sign_in(*ADA)
    before = snapshot()

    url = with_resources(authorize_url(client, pkce()[1], scope="notes:read"), NOTES)
    location = follow(browser, url, consent="deny")

    assert query_of(location)["error"] == "access_denied"
    assert snapshot() == before


# The refresh grant


def test_a_refresh_keeps_the_resources_and_may_narrow(http, browser, ada, make_client, resources):
    client = make_client()
    scope = "openid offline_access notes:read files:read"
    code, verifier = code_for(browser, client, scope, NOTES, FILES)
    first = redeem(http, client, code, verifier).json()

    kept = refresh(http, client, first["refresh_token"]).json()
    narrowed = refresh(http, client, kept["refresh_token"], resource=NOTES).json()
    again = refresh(http, client, narrowed["refresh_token"]).json()

    assert claims_of(http, kept["access_token"])["aud"] == [NOTES, FILES]
    assert claims_of(http, narrowed["access_token"])["aud"] == NOTES
    assert claims_of(http, narrowed["access_token"])["scope"] == "notes:read"
    # Narrowing one token does not narrow the grant.
    assert claims_of(http, again["access_token"])["aud"] == [NOTES, FILES]


@pytest.mark.parametrize(
    ("authorized", "asked"),
    [((NOTES,), FILES), ((), NOTES), ((NOTES,), "notes")],
    ids=["another", "none-authorized", "not-absolute"],
)
def test_a_refresh_never_widens_the_audience(
    http, browser, ada, make_client, resources, snapshot, authorized, asked
):
    client = make_client()
    scope = "openid offline_access" + (" notes:read" if authorized else "")
    code, verifier = code_for(browser, client, scope, *authorized)
    token = redeem(http, client, code, verifier).json()["refresh_token"]
    before = snapshot()

    response = refresh(http, client, token, resource=asked)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"
    assert snapshot() == before  # not rotated: it still works
    assert refresh(http, client, token).status_code == 200


def test_a_deleted_resource_is_not_refreshed(
    app, http, browser, ada, make_client, resources, snapshot
):
    client = make_client()
    code, verifier = code_for(browser, client, "offline_access notes:read", NOTES)
    token = redeem(http, client, code, verifier).json()["refresh_token"]
    with app.app_context():
        delete_resource(NOTES)
    before = snapshot()

    response = refresh(http, client, token)

    assert response.json()["error"] == "invalid_target"
    assert snapshot() == before


# Client credentials and introspection


def test_client_credentials_with_a_resource(http, make_client, resources):
    service = make_client(grant_types=["client_credentials"], redirect_uris=[])

    response = post_as(
        http,
        service,
        "/token",
        grant_type="client_credentials",
        scope="profile files:read",
        resource=FILES,
    )

    assert response.status_code == 200, response.text
    access = claims_of(http, response.json()["access_token"])
    assert access["aud"] == FILES
    assert access["scope"] == "files:read"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"resource": "https://unknown.example.com/"}, "invalid_target"),
        ({"resource": "https://files.example.com/api#x"}, "invalid_target"),
        ({"resource": FILES, "scope": "notes:read"}, "invalid_scope"),
        ({"scope": "files:read"}, "invalid_scope"),
    ],
    ids=["unknown", "fragment", "scope-of-another-resource", "resource-scope-alone"],
)
def test_client_credentials_refused(http, make_client, resources, snapshot, form, error):
    service = make_client(grant_types=["client_credentials"], redirect_uris=[])
    before = snapshot()

    response = post_as(http, service, "/token", grant_type="client_credentials", **form)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert snapshot() == before


def test_introspection_shows_the_audience(http, browser, ada, make_client, resources):
    client = make_client()
    code, verifier = code_for(browser, client, "openid notes:read", NOTES)
    token = redeem(http, client, code, verifier).json()["access_token"]

    body = post_as(http, client, "/introspect", token=token).json()

    assert body["active"] is True
    assert body["aud"] == NOTES
    assert body["scope"] == "notes:read"
