"""Sign-in providers in the admin console (/admin/providers): add, edit, delete, each audited
with the admin; a refusal says why and stores nothing; the secret is never shown."""

from __future__ import annotations

from sqlalchemy import select

from idp.db import db
from idp.federation.upstream.models import UpstreamProvider
from tests.test_admin_resources import admin as admin
from tests.test_admin_resources import audit, text_of

PAGE = "/admin/providers"
SECRET = "a-client-secret-from-the-provider"


def add(browser, **fields):
    form = {
        "slug": "corp",
        "display_name": "Corp SSO",
        "kind": "oidc",
        "issuer": "https://login.corp.example",
        "client_id": "idp-client",
        "client_secret": SECRET,
        "scopes": "openid email profile",
        "name_claim": "name",
        "enabled": "y",
        **fields,
    }
    return browser.submit(PAGE, **form)


def provider(app) -> UpstreamProvider | None:
    with app.app_context():
        return db.session.scalar(select(UpstreamProvider))


def test_an_admin_adds_edits_and_deletes_a_provider(app, admin):
    assert add(admin).status_code == 303
    added = provider(app)
    assert added is not None and added.issuer == "https://login.corp.example"
    assert SECRET not in added.sealed_client_secret
    page = f"{PAGE}/{added.id}"
    assert SECRET not in text_of(admin.get(page))
    sealed = added.sealed_client_secret

    edited = admin.submit(
        page, display_name="Corp", kind="oidc", issuer="https://login.corp.example",
        client_id="idp-client", client_secret="", scopes="openid email",
        name_claim="preferred_username", trusted_for_linking="y",
    )  # fmt: skip

    assert edited.status_code == 303
    changed = provider(app)
    assert changed is not None and changed.display_name == "Corp" and not changed.enabled
    assert changed.sealed_client_secret == sealed  # an empty secret keeps the one it had
    assert changed.attribute_mapping == {"name": "preferred_username"}
    assert changed.trusted_for_linking
    assert "Continue with" not in text_of(admin.get("/sign-in"))  # disabled: no button
    assert admin.submit(f"{page}/delete").status_code == 303
    assert provider(app) is None
    for event in ("upstream_provider_created", "upstream_provider_updated"):
        assert audit(app, event)[0].detail["admin"] == "grace@example.com"
    assert audit(app, "upstream_provider_deleted")[0].subject == "corp"


def test_an_enabled_provider_has_its_button_on_the_sign_in_page(app, admin, http):
    add(admin)
    assert "Continue with Corp SSO" in text_of(http.get("/sign-in"))


def test_bad_input_is_refused_and_nothing_is_stored(admin, snapshot):
    before = snapshot()

    answers = [
        add(admin, issuer="ftp://login.corp.example"),
        add(admin, slug="Not A Slug"),
        add(admin, client_secret=""),
        add(admin, scopes="email profile"),
    ]

    assert [a.status_code for a in answers] == [400] * 4
    messages = [
        "The issuer must be an https URL",
        "The slug is 1 to 64 lowercase letters",
        "The client secret is required.",
        "OpenID Connect providers need the openid scope.",
    ]
    for answer, message in zip(answers, messages, strict=True):
        assert message in text_of(answer)
    assert snapshot() == before


def test_a_slug_taken_is_refused(admin, snapshot):
    add(admin)
    before = snapshot()
    answer = add(admin, display_name="Again")
    assert answer.status_code == 400
    assert "Another provider already has this slug." in text_of(answer)
    assert snapshot() == before
