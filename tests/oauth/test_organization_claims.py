"""Organizations in tokens: the `organization` scope (OpenID Connect Core §5.4: scopes ask for
sets of claims), the choice at consent, and the claims `org_id`, `org_slug`, `org_name`,
`org_role` and `org_permissions` in the ID token (Core §2), the access token (RFC 9068 §2.2.3:
other claims the provider chooses) and userinfo (Core §5.3.2). Consent is remembered per
organization; a client may be only for members of given organizations; the chosen organization
goes on with refresh (Core §12.2) while the person is a member of it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from idp.db import db
from idp.identity import members
from idp.identity.organization_models import Organization
from idp.oauth import organizations as orgs
from idp.oauth.models import Client
from tests.conftest import SECRET, Browser
from tests.helpers.organizations import add_member, make_organization, membership, user
from tests.oauth.conftest import authorize_url, pkce, query_of
from tests.oauth.issued import claims_of, issue, refresh, userinfo
from tests.test_cli import run
from tests.test_two_factor import code_at, sealed_setup_on, secret_on

SCOPE = "openid organization offline_access"


def signed_in(browser: Browser) -> Browser:
    assert browser.sign_in("ada@example.com").status_code == 303
    return browser


def consent_page(browser: Browser, client, **params: str):  # type: ignore[no-untyped-def]
    _, challenge = pkce()
    response = browser.get(authorize_url(client, challenge, scope=SCOPE, **params))
    assert response.status_code == 302, response.text
    return urlsplit(response.headers["Location"]).path


def test_one_organization_is_preselected_and_its_claims_reach_every_token(
    http, browser, make_user, make_client, app
):
    ada = make_user()
    org = make_organization(app, ada, slug="acme", name="Acme")
    client = make_client()

    tokens = issue(http, browser, client, scope=SCOPE)

    expected = {
        "org_id": str(org),
        "org_slug": "acme",
        "org_name": "Acme",
        "org_role": "owner",
    }
    id_token = claims_of(http, tokens["id_token"])
    access = claims_of(http, tokens["access_token"])
    info = userinfo(http, tokens["access_token"]).json()
    for claims in (id_token, access, info):
        assert {k: claims[k] for k in expected} == expected
        assert "organization:delete" in claims["org_permissions"]
        assert "member:create" in claims["org_permissions"]


def test_without_the_scope_no_organization_claims(http, browser, make_user, make_client, app):
    make_organization(app, make_user())
    tokens = issue(http, browser, make_client(), scope="openid")

    assert "org_id" not in claims_of(http, tokens["id_token"])
    assert "org_id" not in userinfo(http, tokens["access_token"]).json()


def test_a_person_in_no_organization_gets_the_scope_without_claims(
    http, browser, make_user, make_client
):
    make_user()
    tokens = issue(http, browser, make_client(), scope=SCOPE)

    assert "organization" in tokens["scope"].split()
    assert "org_id" not in claims_of(http, tokens["id_token"])


def test_with_several_organizations_the_person_chooses_at_consent(
    http, browser, make_user, make_client, app
):
    ada = make_user()
    make_organization(app, ada, slug="acme", name="Acme")
    beta = make_organization(app, ada, slug="beta", name="Beta")
    add_member(app, beta, make_user("bob@example.com"))
    client = make_client()
    signed_in(browser)
    verifier, challenge = pkce()
    page = urlsplit(
        browser.get(authorize_url(client, challenge, scope=SCOPE)).headers["Location"]
    ).path

    text = browser.get(page).text
    assert "Which organization may Test App know?" in text
    assert "Acme" in text and "Beta" in text
    answer = browser.submit(page, decision="allow", organization=str(beta))
    code = query_of(answer.headers["Location"])["code"]
    tokens = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(client.client_id, client.client_secret),
        timeout=5,
    ).json()

    assert claims_of(http, tokens["id_token"])["org_slug"] == "beta"


def test_choosing_an_organization_one_is_not_in_is_refused(
    http, browser, make_user, make_client, app, snapshot
):
    ada = make_user()
    make_organization(app, ada, slug="acme")
    make_organization(app, ada, slug="beta")
    other = make_organization(app, make_user("eve@example.com"), slug="evil")
    signed_in(browser)
    page = consent_page(browser, make_client())
    before = snapshot()

    response = browser.submit(page, decision="allow", organization=str(other))

    assert response.status_code == 400
    assert "Choose which of your organizations the app may know." in response.text
    assert snapshot() == before


def test_consent_is_remembered_per_organization(http, browser, make_user, make_client, app):
    ada = make_user()
    acme = make_organization(app, ada, slug="acme")
    beta = make_organization(app, ada, slug="beta")
    client = make_client()
    signed_in(browser)
    browser.submit("/organizations", "/organizations/active", organization_id=str(acme))
    issue(http, browser, client, scope=SCOPE)  # consents for acme

    _, challenge = pkce()
    same = browser.get(authorize_url(client, challenge, scope=SCOPE))
    assert query_of(same.headers["Location"]).get("code"), "acme was allowed: no question"

    browser.submit("/organizations", "/organizations/active", organization_id=str(beta))
    other = browser.get(authorize_url(client, challenge, scope=SCOPE))
    assert urlsplit(other.headers["Location"]).path.startswith("/authorize/consent/")


def test_a_client_for_given_organizations_refuses_others(
    http, browser, make_user, make_client, app
):
    ada = make_user()
    mine = make_organization(app, ada, slug="mine")
    theirs = make_organization(app, make_user("bob@example.com"), slug="theirs")
    client = make_client()
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=client.client_id).one()
        assert orgs.restrict(row, ["theirs"]) == [theirs]
    signed_in(browser)
    _, challenge = pkce()

    refused = browser.get(authorize_url(client, challenge, scope="openid"))

    # RFC 6749 §4.1.2.1: access_denied, back to the client, with a description.
    error = query_of(refused.headers["Location"])
    assert error["error"] == "access_denied"
    assert error["error_description"] == (
        "This app is only for members of certain organizations, and you are not a member "
        "of any of them."
    )
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=client.client_id).one()
        assert orgs.restrict(row, ["mine"]) == [mine]
    assert issue(http, browser, client, scope=SCOPE)["access_token"]


def test_a_refresh_keeps_the_organization_and_fails_once_the_member_is_removed(
    http, browser, make_user, make_client, app
):
    owner = make_user("owner@example.com")
    ada = make_user()
    org = make_organization(app, owner)
    ada_member = add_member(app, org, ada, "admin")
    client = make_client()
    tokens = issue(http, browser, client, scope=SCOPE)

    refreshed = refresh(http, client, tokens["refresh_token"]).json()
    assert claims_of(http, refreshed["id_token"])["org_role"] == "admin"  # Core §12.2

    with app.app_context():
        members.remove(user(owner), membership(owner, org), ada_member)
    response = refresh(http, client, refreshed["refresh_token"])

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "The user is no longer a member of the grant's organization.",
    }
    assert "org_id" not in userinfo(http, refreshed["access_token"]).json()


@pytest.mark.usefixtures("steady_totp_step")
def test_an_organization_requiring_two_factor_sends_a_member_without_it_to_set_it_up(
    http, browser, make_user, make_client, app
):
    ada = make_user()
    org = make_organization(app, ada)
    with app.app_context():
        db.session.get(Organization, org).require_two_factor = True  # type: ignore[union-attr]
        db.session.commit()
    client = make_client()
    signed_in(browser)
    _, challenge = pkce()
    # Core §3.1.2.6: with prompt=none nobody can be asked; consent is asked first here.
    silent = browser.get(authorize_url(client, challenge, scope=SCOPE, prompt="none"))
    assert query_of(silent.headers["Location"])["error"] == "consent_required"
    first = browser.get(authorize_url(client, challenge, scope=SCOPE))
    consent = urlsplit(first.headers["Location"]).path
    answer = browser.submit(consent, decision="allow")
    resume = "/authorize/resume/" + answer.headers["Location"].rsplit("/", 1)[1]

    location = answer.headers["Location"]
    assert location.startswith("/account/security/two-factor?next=/authorize/resume/")
    page = browser.get(location).text
    secret = secret_on(page)
    browser.submit(location, code=code_at(secret), setup=sealed_setup_on(page), next=resume)
    # With a second factor set up, the request goes on and the app gets its code.
    assert query_of(browser.get(resume).headers["Location"])["code"]


def test_the_command_line_keeps_a_client_for_given_organizations(
    app, make_user, make_client, database_url, tmp_path, keys_dir, snapshot
):
    org = make_organization(app, make_user(), slug="acme")
    client = make_client()
    cli_env = {
        "DATABASE_URL": database_url,
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(keys_dir),
    }
    before = snapshot()

    unknown = run("clients", "restrict", client.client_id, "--organization", "nope", env=cli_env)
    assert unknown.returncode == 1 and "There is no organization 'nope'." in unknown.stderr
    assert snapshot() == before

    done = run("clients", "restrict", client.client_id, "--organization", "acme", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{client.client_id}: acme."
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=client.client_id).one()
        assert orgs.restricted_to(row) == {org}
