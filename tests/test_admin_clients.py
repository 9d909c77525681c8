"""The admin pages for clients (/admin/clients): register, edit, rotate the secret, disable
and enable, delete; and the edit page of a protected resource.

A disabled client is unknown to every endpoint: `invalid_client` (RFC 6749 §5.2) at the token,
introspection (RFC 7662 §2.3) and revocation (RFC 7009 §2.2.1) endpoints, an error page at
/authorize (RFC 6749 §4.1.2.1: never a redirect for an unknown client), and the tokens it held
introspect inactive. Each change is audited with the admin; each refusal says why and stores
nothing.
"""

from __future__ import annotations

import re

from idp.core.security import digest
from idp.oauth import organizations
from idp.oauth.clients import find_client
from idp.oauth.resources import create_resource, find_resource
from tests.conftest import Browser
from tests.helpers.organizations import make_organization
from tests.oauth.issued import issue, post_as
from tests.test_admin_resources import NOTES, audit, text_of
from tests.test_admin_resources import admin as admin

PAGE = "/admin/clients"
CALLBACK = "https://app.example.com/callback"


def register(browser: Browser, **fields):
    form = {
        "name": "Notes App",
        "redirect_uris": CALLBACK,
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile",
        "auth_method": "client_secret_basic",
        "access_token_ttl": "3600",
        "id_token_ttl": "3600",
        "refresh_token_ttl": "86400",
        **fields,
    }
    return browser.submit(PAGE, **form)


def page_of(app, client_id: str) -> str:
    with app.app_context():
        client = find_client(client_id)
        assert client is not None
        return f"{PAGE}/{client.id}"


def test_an_admin_registers_a_client_and_sees_its_secret_once(app, admin):
    response = register(admin)

    assert response.status_code == 200
    page = text_of(response)
    client_id = re.search(r'id="client-id">([^<]+)<', page).group(1)
    secret = re.search(r'id="client-secret">([^<]+)<', page).group(1)
    assert "will not be shown again" in page
    with app.app_context():
        client = find_client(client_id)
        assert client.secret_hash == digest(secret)  # stored only as a digest
        assert client.redirect_uris == [CALLBACK]
        assert client.scope == "openid profile"
        assert client.refresh_token_ttl == 86400
    assert secret not in text_of(admin.get(page_of(app, client_id)))
    (event,) = audit(app, "client_created")
    assert event.subject == client_id
    assert event.detail["admin"] == "grace@example.com"


def test_a_bad_redirect_uri_is_refused_and_nothing_is_stored(admin, snapshot):
    before = snapshot()

    response = register(admin, redirect_uris="https://app.example.com/cb#fragment")

    assert response.status_code == 400
    assert "Redirect URI 'https://app.example.com/cb#fragment'" in text_of(response)
    assert snapshot() == before


def test_a_lifetime_that_is_not_a_number_is_refused(admin, snapshot):
    before = snapshot()

    response = register(admin, access_token_ttl="an hour")

    assert response.status_code == 400
    assert "access_token_ttl must be 1 to 315360000 seconds." in text_of(response)
    assert snapshot() == before


def test_an_admin_edits_the_redirect_uris(app, admin, make_client):
    client = make_client()
    page = page_of(app, client.client_id)
    form = {"name": "Renamed", "redirect_uris": f"{CALLBACK}\nhttp://127.0.0.1/cb"}

    response = admin.submit(page, **{**_current(admin, page), **form})

    assert response.status_code == 303
    assert "The client Renamed was saved." in text_of(admin.get(page))
    with app.app_context():
        stored = find_client(client.client_id)
        assert stored.name == "Renamed"
        assert stored.redirect_uris == [CALLBACK, "http://127.0.0.1/cb"]
    assert audit(app, "client_updated")[-1].detail["admin"] == "grace@example.com"


def test_an_edit_that_is_refused_changes_nothing(app, admin, make_client, snapshot):
    client = make_client()
    page = page_of(app, client.client_id)
    before = snapshot()

    response = admin.submit(page, **{**_current(admin, page), "grant_types": ["password"]})

    assert response.status_code == 400
    assert "Unsupported grant type: password." in text_of(response)
    assert snapshot() == before


def test_rotating_the_secret_ends_the_old_one(app, http, admin, make_client):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[], scopes=["openid"])
    page = page_of(app, client.client_id)

    response = admin.submit(page, action=f"{page}/secret")

    assert response.status_code == 200
    secret = re.search(r'id="client-secret">([^<]+)<', text_of(response)).group(1)
    old = post_as(http, client, "/token", grant_type="client_credentials")
    assert old.status_code == 401
    assert old.json()["error"] == "invalid_client"  # RFC 6749 §5.2
    client.client_secret = secret
    assert post_as(http, client, "/token", grant_type="client_credentials").status_code == 200
    assert audit(app, "client_secret_rotated")[0].detail["admin"] == "grace@example.com"


def test_client_credentials_tokens_held_when_disabled_stay_revoked_once_enabled(
    app, http, admin, make_client, clock
):
    """RFC 7009 §2.2: a revoked token stays revoked. Client credentials tokens have no family
    row to revoke; the client's `revoked_before` time ends those issued before the disable."""
    client = make_client(grant_types=["client_credentials"], redirect_uris=[], scopes=["openid"])
    page = page_of(app, client.client_id)
    held = post_as(http, client, "/token", grant_type="client_credentials").json()
    assert post_as(http, client, "/introspect", token=held["access_token"]).json()["active"]
    clock.advance(1.5)  # `iat` counts whole seconds

    assert admin.submit(page, action=f"{page}/disable").status_code == 303
    assert admin.submit(page, action=f"{page}/enable").status_code == 303
    clock.advance(1.5)
    fresh = post_as(http, client, "/token", grant_type="client_credentials").json()

    assert post_as(http, client, "/introspect", token=held["access_token"]).json() == {
        "active": False
    }
    assert post_as(http, client, "/introspect", token=fresh["access_token"]).json()["active"]


def test_a_public_client_has_no_secret_to_rotate(app, admin, make_client, snapshot):
    client = make_client(public=True)
    page = page_of(app, client.client_id)
    before = snapshot()

    response = admin.submit(page, action=f"{page}/secret")

    assert response.status_code == 400
    assert f"The client {client.client_id} authenticates with none, not a secret." in text_of(
        response
    )
    assert snapshot() == before


def test_a_disabled_client_is_refused_everywhere_and_its_tokens_stop(
    app, http, browser, admin, make_user, make_client
):
    make_user()
    client = make_client(grant_types=["authorization_code", "refresh_token", "client_credentials"])
    token = issue(http, browser, client)
    page = page_of(app, client.client_id)

    response = admin.submit(page, action=f"{page}/disable")

    assert response.status_code == 303
    introspected = post_as(http, client, "/introspect", token=token["access_token"])
    assert introspected.status_code == 401
    assert introspected.json()["error"] == "invalid_client"  # RFC 7662 §2.3
    for grant in ("client_credentials", "refresh_token"):
        refused = post_as(
            http, client, "/token", grant_type=grant, refresh_token=token["refresh_token"]
        )
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client"  # RFC 6749 §5.2
    revoked = post_as(http, client, "/revoke", token=token["access_token"])
    assert revoked.json()["error"] == "invalid_client"  # RFC 7009 §2.2.1
    authorize = browser.get(f"/authorize?client_id={client.client_id}&response_type=code")
    assert authorize.status_code == 400
    assert audit(app, "client_disabled")[0].detail["admin"] == "grace@example.com"

    # Enabled again, it gets new tokens; those it held stay revoked.
    assert admin.submit(page, action=f"{page}/enable").status_code == 303
    assert post_as(http, client, "/token", grant_type="client_credentials").status_code == 200
    assert post_as(http, client, "/introspect", token=token["access_token"]).json() == {
        "active": False
    }


def test_an_admin_deletes_a_client(app, admin, make_client):
    client = make_client()
    page = page_of(app, client.client_id)

    response = admin.submit(f"{page}/delete")

    assert response.status_code == 303
    with app.app_context():
        assert find_client(client.client_id) is None
    assert audit(app, "client_deleted")[0].detail["admin"] == "grace@example.com"


def test_people_who_are_not_admins_get_403(browser, make_user):
    make_user()
    browser.sign_in("ada@example.com")

    response = browser.get(PAGE)

    assert response.status_code == 403


def test_an_admin_edits_a_resource(app, admin):
    with app.app_context():
        resource_id = create_resource(NOTES, "Notes", {"notes:read": ""}).id
    page = f"/admin/resources/{resource_id}"

    response = admin.submit(page, name="Notes API", scope="notes:read\nnotes:write=Write")

    assert response.status_code == 303
    with app.app_context():
        resource = find_resource(NOTES)
        assert resource.name == "Notes API"
        assert resource.scopes == {"notes:read": "", "notes:write": "Write"}
    assert audit(app, "resource_updated")[0].detail["admin"] == "grace@example.com"


def test_a_resource_edit_that_is_refused_changes_nothing(app, admin, snapshot):
    with app.app_context():
        resource_id = create_resource(NOTES, "Notes", {"notes:read": ""}).id
    page = f"/admin/resources/{resource_id}"
    before = snapshot()

    response = admin.submit(page, name="Notes", scope="notes read")

    assert response.status_code == 400
    assert "'notes read' is not a scope token (RFC 6749 §3.3)." in text_of(response)
    assert snapshot() == before


def _current(browser: Browser, page: str) -> dict[str, object]:
    """The edit form's current values, as a browser would send them back."""
    html = text_of(browser.get(page))
    values: dict[str, object] = {
        "name": re.search(r'name="name"[^>]*value="([^"]*)"', html).group(1),
        "redirect_uris": re.search(r'name="redirect_uris"[^>]*>\s*([^<]*)<', html).group(1),
        "grant_types": re.findall(r'checked[^>]*name="grant_types"[^>]*value="([^"]+)"', html)
        or re.findall(r'name="grant_types"[^>]*value="([^"]+)"[^>]*checked', html),
        "scope": re.search(r'name="scope"[^>]*>\s*([^<]*)<', html).group(1).strip(),
        "auth_method": "client_secret_basic",
    }
    for key in ("access_token_ttl", "id_token_ttl", "refresh_token_ttl"):
        values[key] = re.search(rf'name="{key}"[^>]*value="([^"]*)"', html).group(1)
    return values


def test_an_admin_keeps_a_client_for_members_of_organizations(app, admin, make_client, make_user):
    """The console's form for `idp clients restrict`: slugs typed, the client kept for their
    members (others get access_denied, tests/oauth/test_organization_claims.py); empty opens
    it to everyone again. Audited with the admin."""
    owner = make_user("owner@example.com")
    make_organization(app, owner, slug="acme", name="Acme")
    make_organization(app, owner, slug="globex", name="Globex")
    client = make_client()
    page = page_of(app, client.client_id)

    kept = admin.submit(page, page + "/organizations", organizations="globex acme")

    assert kept.status_code == 303
    shown = text_of(admin.get(page))
    assert "is now for globex, acme." in shown and 'value="acme globex"' in shown
    with app.app_context():
        assert organizations.restricted_slugs(find_client(client.client_id)) == ["acme", "globex"]
    event = audit(app, "client_updated")[-1]
    assert event.detail["organizations"] == ["globex", "acme"]
    assert event.detail["admin"] == "grace@example.com"
    assert admin.submit(page, page + "/organizations", organizations="").status_code == 303
    with app.app_context():
        assert organizations.restricted_slugs(find_client(client.client_id)) == []


def test_an_unknown_organization_is_refused_and_nothing_changes(
    app, admin, make_client, make_user, snapshot
):
    make_organization(app, make_user("owner@example.com"), slug="acme")
    client = make_client()
    page = page_of(app, client.client_id)
    before = snapshot()

    refused = admin.submit(page, page + "/organizations", organizations="acme nowhere")

    assert refused.status_code == 400
    assert "There is no organization 'nowhere'." in text_of(refused)
    assert snapshot() == before
