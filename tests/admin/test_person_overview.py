"""What the console's person page and the management API's `GET /api/people/{id}` show of a
person, from the same service (idp.admin.people.overview): sessions, two-factor, passkeys,
organizations and apps with access, and on the page the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from idp.db import db
from idp.identity.passkeys import Passkey
from idp.identity.users import find_by_email
from idp.oauth.models import Client, Consent
from tests.admin.conftest import ADMIN, text_of
from tests.api.conftest import Api, make_key
from tests.conftest import PASSWORD, Browser
from tests.helpers.organizations import make_organization
from tests.test_two_factor import with_two_factor

ADA = "ada@example.com"


def everything(app, http, make_user, make_client) -> int:  # type: ignore[no-untyped-def]
    """Ada, signed in from a browser of hers, with an authenticator app, a passkey called
    "Office key", the organization `acme` she owns and the app "Notes" she allowed."""
    ada = make_user(ADA, name="Ada Lovelace")
    assert Browser(http).sign_in(ADA, PASSWORD).status_code == 303
    with_two_factor(app, ada)
    make_organization(app, ada, slug="acme", name="Acme")
    notes = make_client(name="Notes")
    with app.app_context():
        client_id = db.session.scalar(select(Client.id).where(Client.client_id == notes.client_id))
        db.session.add(Consent(user_id=ada, client_id=client_id, scopes=["openid", "email"]))
        db.session.add(
            Passkey(
                user_id=ada,
                credential_id="cred-1",
                public_key=b"\x00",
                name="Office key",
                device_type="multi_device",
                aaguid="00000000-0000-0000-0000-000000000000",
            )
        )
        db.session.commit()
    return ada


def test_the_person_page_shows_every_section(app, http, admin, make_user, make_client):
    ada = everything(app, http, make_user, make_client)

    page = text_of(admin.get(f"/admin/people/{ada}"))

    def section(heading: str) -> str:
        start = page.index(f'id="{heading}-heading"')
        return page[start : page.index("</section>", start)]

    assert "Office key" in section("account")  # passkeys
    assert "on since" in section("account") and "10 backup codes left" in section("account")
    assert "(pwd)" in section("sessions") and "End every session" in section("sessions")
    assert "Notes" in section("apps") and "email openid" in section("apps")
    assert "Acme" in section("orgs") and ": owner" in section("orgs")
    assert "sign_in" in section("trail") and "organization_created" in section("trail")


def test_the_api_answers_the_same_overview(app, http, make_user, make_client):
    ada = everything(app, http, make_user, make_client)
    api = Api(http, make_key(app))

    person = api("GET", f"/people/{ada}").json()

    assert person["email"] == ADA and person["ban"] is None
    [session] = person["sessions"]
    assert session["amr"] == ["pwd"] and session["expires_at"] > session["created_at"]
    assert person["two_factor"] == {"app": True, "backup_codes_left": 10}
    assert [(p["name"], p["last_used_at"]) for p in person["passkeys"]] == [("Office key", None)]
    assert [(o["slug"], o["role"]) for o in person["organizations"]] == [("acme", "owner")]
    [notes] = person["apps"]
    assert (notes["name"], notes["scopes"]) == ("Notes", ["email", "openid"])
    with app.app_context():
        admin = find_by_email(ADMIN)
        assert admin is not None
    plain = api("GET", f"/people/{admin.id}").json()
    assert plain["sessions"] == [] and plain["passkeys"] == [] and plain["apps"] == []
    assert plain["two_factor"] == {"app": False, "backup_codes_left": 0}
