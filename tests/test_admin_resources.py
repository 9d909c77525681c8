"""The admin page for protected resources (/admin/resources) over the real HTTP server.

Admins list, add and delete the resources tokens may be issued for (RFC 8707 §2: a resource
URI is absolute and has no fragment), and name the confidential client that may introspect
each one's tokens (RFC 7662 §2.1), with the same checks as `idp resources`. Every admin page
needs a fresh sign-in; others get 403 and the signed-out are sent to sign in. Each change is in
the audit log with the admin who made it; each refusal says why and stores nothing.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.core.security import digest
from idp.db import db
from idp.identity import users
from idp.identity.models import LoginSession
from idp.oauth.resources import create_resource, find_resource
from tests.conftest import PASSWORD, Browser
from tests.oauth.issued import claims_of
from tests.oauth.test_resource_indicators import code_for, redeem

NOTES = "https://notes.example.com/mcp"
FILES = "https://files.example.com/api"
ADMIN = "grace@example.com"
PAGE = "/admin/resources"
LIFETIME = "The access-token lifetime must be 1 to 315360000 seconds."


@pytest.fixture
def admin(app, http) -> Browser:
    """Grace, an admin, signed in with her password just now."""
    with app.app_context():
        users.create_user(ADMIN, "Grace", PASSWORD, is_admin=True)
    browser = Browser(http)
    assert browser.sign_in(ADMIN).status_code == 303
    return browser


def add(browser: Browser, page: str = PAGE, **fields: str):
    """Send the "Add a resource" form, with the CSRF token from `page`."""
    form = {"uri": NOTES, "name": "Notes", "scope": "notes:read=Read your notes", **fields}
    return browser.submit(page, action=PAGE, next=PAGE, **form)


def text_of(response) -> str:
    return html.unescape(response.text)


def audit(app, event: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)
            )
        )


def test_the_page_lists_resources_with_their_scopes(app, admin):
    with app.app_context():
        create_resource(
            NOTES,
            "Notes",
            {"notes:read": "Read your notes", "notes:write": ""},
            access_token_ttl=600,
        )

    response = admin.get(PAGE)

    assert response.status_code == 200
    page = text_of(response)
    assert "<h3>Notes</h3>" in page
    assert NOTES in page
    assert "<code>notes:read</code>: Read your notes" in page
    assert "<code>notes:write</code></li>" in page
    assert "600 seconds" in page
    assert re.search(r'<time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>', page)
    assert 'href="/admin">Admin</a>' in page  # the nav link to the console, for admins


def test_an_admin_adds_a_resource_that_clients_can_then_name(
    app, http, admin, make_user, make_client
):
    response = add(
        admin,
        scope="notes:read=Read   your notes\n\nnotes:write\n",
        access_token_ttl="900",
    )

    assert response.status_code == 303
    assert response.headers["Location"] == PAGE
    assert f"The resource {NOTES} was added." in text_of(admin.get(PAGE))
    with app.app_context():
        resource = find_resource(NOTES)
        assert resource is not None
        assert resource.name == "Notes"
        assert resource.scopes == {"notes:read": "Read your notes", "notes:write": ""}
        assert resource.access_token_ttl == 900
    # RFC 8707 §2: an authorization request naming it now gets a token bound to it.
    make_user("ada@example.com")
    client = make_client()
    ada = Browser(http)
    code, verifier = code_for(ada, client, "openid notes:read", NOTES)
    body = redeem(http, client, code, verifier).json()
    access = claims_of(http, body["access_token"])
    assert access["aud"] == NOTES
    assert access["scope"] == "notes:read"
    assert body["expires_in"] == 900


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        # RFC 8707 §2: "MUST NOT include a fragment component"
        (
            {"uri": NOTES + "#tools"},
            "uri",
            "The resource URI must not contain a fragment.",
        ),
        # RFC 8707 §2: "MUST be an absolute URI"
        ({"uri": "/mcp"}, "uri", "The resource URI must be an absolute URI."),
        ({"name": "  "}, "name", "A resource needs a name of 1 to 200 characters."),
        ({"scope": "\n \n"}, "scope", "A resource accepts at least one scope."),
        # RFC 6749 §3.3: a scope token has no spaces
        (
            {"scope": "notes:read\nread notes=Read your notes"},
            "scope",
            "'read notes' is not a scope token (RFC 6749 §3.3).",
        ),
        ({"access_token_ttl": "ten minutes"}, "access_token_ttl", LIFETIME),
        ({"access_token_ttl": "0"}, "access_token_ttl", LIFETIME),
    ],
    ids=[
        "fragment",
        "relative",
        "no-name",
        "no-scope",
        "bad-scope",
        "lifetime-words",
        "lifetime-0",
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_stores_nothing(
    app, admin, snapshot, fields, field_id, message
):
    before = snapshot(ignore=())

    response = add(admin, **fields)

    assert response.status_code == 400
    page = text_of(response)
    assert f'<p class="error" id="{field_id}-error">{message}</p>' in page
    assert f'aria-describedby="{field_id}-hint {field_id}-error"' in page
    assert snapshot(ignore=()) == before  # not even an audit row


@pytest.mark.parametrize("ttl", ["99999999999", "9" * 5000], ids=["11-digits", "5000-digits"])
def test_an_out_of_range_lifetime_is_a_form_error(app, admin, snapshot, ttl):
    """A lifetime is 1 second to ten years (the README's limits). A larger number would not fit
    the column (an integer on PostgreSQL), and past 4300 digits Python's int() refuses it: the
    form says so next to the field (WCAG 3.3.1) and nothing is stored, not even an audit row."""
    before = snapshot(ignore=())

    response = add(admin, access_token_ttl=ttl)

    assert response.status_code == 400
    assert f'<p class="error" id="access_token_ttl-error">{LIFETIME}</p>' in text_of(response)
    assert snapshot(ignore=()) == before


def test_a_resource_is_registered_once(app, admin, snapshot):
    assert add(admin).status_code == 303
    before = snapshot(ignore=())

    response = add(admin, name="Other notes")

    assert response.status_code == 400
    assert f'id="uri-error">A resource {NOTES} is already registered.</p>' in text_of(response)
    assert snapshot(ignore=()) == before


def test_an_admin_deletes_a_resource_after_confirming(app, admin):
    assert add(admin).status_code == 303
    with app.app_context():
        resource = find_resource(NOTES)
        assert resource is not None
        confirm_page = f"{PAGE}/{resource.id}/delete"
    assert f'href="{confirm_page}"' in admin.get(PAGE).text

    page = admin.get(confirm_page)
    assert page.status_code == 200
    assert "Delete resource</button>" in page.text
    with app.app_context():
        assert find_resource(NOTES) is not None  # opening the page deletes nothing

    response = admin.submit(confirm_page, next=confirm_page)

    assert response.status_code == 303
    assert response.headers["Location"] == PAGE
    assert f"The resource {NOTES} was deleted." in text_of(admin.get(PAGE))
    with app.app_context():
        assert find_resource(NOTES) is None
    assert admin.get(confirm_page).status_code == 404


def test_changes_are_in_the_audit_log_with_the_admin(app, admin):
    add(admin, scope="notes:read\nnotes:write")
    with app.app_context():
        resource = find_resource(NOTES)
        assert resource is not None
        grace = users.find_by_email(ADMIN)
        assert grace is not None
    admin.submit(f"{PAGE}/{resource.id}/delete", next=PAGE)

    (created,) = audit(app, "resource_created")
    (deleted,) = audit(app, "resource_deleted")
    for row in (created, deleted):
        assert row.subject == NOTES
        assert row.user_id == grace.id
        assert row.detail["admin"] == ADMIN
        assert row.ip == "127.0.0.1"
    assert created.detail["scopes"] == ["notes:read", "notes:write"]


def test_an_admin_names_and_changes_the_introspecting_client(app, admin, make_client):
    """RFC 7662: the resource server's confidential client may introspect its tokens."""
    api = make_client(name="Notes API", grant_types=["client_credentials"], redirect_uris=[])
    gateway = make_client(name="Gateway", grant_types=["client_credentials"], redirect_uris=[])

    assert add(admin, introspection_client=f" {api.client_id} ").status_code == 303
    with app.app_context():
        resource = find_resource(NOTES)
        assert resource is not None and resource.introspection_client_id == api.client_id
    form = f"{PAGE}/{resource.id}/introspection"
    assert f"<code>{api.client_id}</code>" in text_of(admin.get(PAGE))

    changed = admin.submit(PAGE, action=form, introspection_client=gateway.client_id)
    assert changed.status_code == 303
    page = text_of(admin.get(PAGE))
    assert f"The client {gateway.client_id} may introspect the tokens of {NOTES}." in page
    removed = admin.submit(PAGE, action=form, introspection_client="")
    assert removed.status_code == 303
    assert f"No other client may introspect the tokens of {NOTES}." in text_of(admin.get(PAGE))
    with app.app_context():
        resource = find_resource(NOTES)
        assert resource is not None and resource.introspection_client_id is None
    assert [e.detail["introspection_client"] for e in audit(app, "resource_updated")] == [
        gateway.client_id,
        None,
    ]


def test_a_public_or_unknown_introspecting_client_is_refused(app, admin, make_client, snapshot):
    """RFC 7662 §2.1: a public client cannot authenticate, so it cannot introspect."""
    public = make_client(name="CLI", public=True)
    assert add(admin).status_code == 303
    with app.app_context():
        resource = find_resource(NOTES)
        assert resource is not None
    before = snapshot(ignore=())

    added = add(admin, uri=FILES, introspection_client="nobody")
    changed = admin.submit(
        PAGE, action=f"{PAGE}/{resource.id}/introspection", introspection_client=public.client_id
    )

    assert added.status_code == 400
    assert '<p class="error" id="introspection_client-error">No client \'nobody\'.</p>' in (
        text_of(added)
    )
    assert changed.status_code == 400
    assert (
        f'<p class="error" id="introspection-{resource.id}-error">The client '
        f"'{public.client_id}' is public; only a confidential client may introspect tokens.</p>"
    ) in text_of(changed)
    assert snapshot(ignore=()) == before


def test_a_form_without_its_csrf_token_is_refused(app, admin, snapshot):
    before = snapshot(ignore=())

    response = admin.http.post(
        admin.base + PAGE,
        data={"uri": NOTES, "name": "Notes", "scope": "notes:read", "next": PAGE},
        allow_redirects=False,
    )

    assert response.status_code == 400
    assert "This form expired or did not come from this site." in response.text
    assert snapshot(ignore=()) == before


def test_other_users_get_403(app, browser, make_user, snapshot):
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    with app.app_context():
        create_resource(NOTES, "Notes", {"notes:read": ""})
        resource = find_resource(NOTES)
        assert resource is not None
    before = snapshot(ignore=())

    for response in (
        browser.get(PAGE),
        browser.get(f"{PAGE}/{resource.id}/delete"),
        browser.submit("/account", action=PAGE, uri=FILES, name="Files", scope="files:read"),
        browser.submit("/account", action=f"{PAGE}/{resource.id}/delete"),
    ):
        assert response.status_code == 403
        assert "Only administrators can open the admin pages." in response.text
    assert ">Admin</a>" not in browser.get("/account").text
    assert snapshot(ignore=()) == before


def test_signed_out_people_are_sent_to_sign_in(browser, snapshot):
    before = snapshot()

    response = browser.get(PAGE)

    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=%2Fadmin%2Fresources"
    assert snapshot() == before


def test_a_stale_sign_in_must_confirm_the_password_first(app, admin, snapshot):
    make_stale(app, admin)
    before = snapshot(ignore=())

    assert admin.get(PAGE).headers["Location"] == "/confirm?next=%2Fadmin%2Fresources"
    response = add(admin, page="/account")

    assert response.status_code == 302
    assert response.headers["Location"] == "/confirm?next=%2Fadmin%2Fresources"
    assert snapshot(ignore=()) == before
    confirmed = admin.submit("/confirm", password=PASSWORD, next=PAGE)
    assert confirmed.headers["Location"] == PAGE
    assert add(admin).status_code == 303


def make_stale(app, browser: Browser) -> None:
    """Move the browser's sign-in a day back: no longer fresh (IDP_SESSION_FRESH_AGE)."""
    token = browser.cookie()
    assert token
    with app.app_context():
        row = db.session.scalar(
            select(LoginSession).where(LoginSession.token_hash == digest(token))
        )
        assert row is not None
        row.authenticated_at -= timedelta(days=1)
        db.session.commit()
        app.extensions["idp.store"].delete("session:" + row.token_hash)
