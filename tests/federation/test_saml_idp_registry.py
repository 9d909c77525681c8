"""Registering SAML service providers from their metadata (SAML metadata §2.4.4): the console
(/admin/saml-sps), `idp saml-sps`, and two registrations of one entity ID racing."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.saml_idp.models import SamlServiceProvider
from idp.identity import users
from tests.conftest import PASSWORD, Browser
from tests.federation.saml_sp_peer import SamlSp
from tests.test_cli import cli_env, run  # noqa: F401 (cli_env is a fixture)
from tests.test_races import PARALLEL, at_once, count

PAGE = "/admin/saml-sps"
ADMIN = "grace@example.com"


@pytest.fixture
def sp(idp_metadata) -> SamlSp:
    return SamlSp("http://sp.test", idp_metadata)


@pytest.fixture
def admin(app, http) -> Browser:
    with app.app_context():
        users.create_user(ADMIN, "Grace", PASSWORD, is_admin=True)
    browser = Browser(http)
    assert browser.sign_in(ADMIN).status_code == 303
    return browser


def audited(app, event: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == event))
        return [{"subject": row.subject, **row.detail} for row in rows]


def providers(app) -> list[SamlServiceProvider]:
    with app.app_context():
        rows = list(db.session.scalars(select(SamlServiceProvider)))
        db.session.expunge_all()
        return rows


def test_console_registers_edits_and_deletes_an_sp(app, admin, sp):
    created = admin.submit(
        PAGE, metadata=sp.metadata(), name_id_format="email", attributes="email", enabled="y"
    )
    assert created.status_code == 303, created.text[:800]
    [provider] = providers(app)
    assert provider.entity_id == sp.entity_id
    assert [e["location"] for e in provider.acs_endpoints] == [sp.acs]
    assert provider.slo_url == sp.sls and provider.authn_requests_signed
    assert sp.entity_id in admin.get(PAGE).text

    page = f"{PAGE}/{provider.id}"
    edited = admin.submit(
        page,
        name="Wiki",
        name_id_format="persistent",
        attributes="organizations",
        allow_idp_initiated="y",
        enabled="y",
    )
    assert edited.status_code == 303, edited.text[:800]
    [provider] = providers(app)
    assert (provider.name, provider.name_id_format) == ("Wiki", "persistent")
    assert provider.attributes == ["organizations"] and provider.allow_idp_initiated

    assert admin.submit(f"{page}/delete").status_code == 303
    assert providers(app) == []
    for event in ("created", "updated", "deleted"):
        [row] = audited(app, f"saml_service_provider_{event}")
        assert row["subject"] == sp.entity_id and row["admin"] == ADMIN


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("<nope", "The XML document is not well-formed."),
        ('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "XML with a DOCTYPE is refused."),
        ("<x/>", "This is not SAML metadata"),
    ],
)
def test_console_refuses_bad_metadata(app, admin, snapshot, metadata, message):
    before = snapshot()
    answer = admin.submit(PAGE, metadata=metadata, name_id_format="email", attributes="email")
    assert answer.status_code == 400
    assert message in answer.text
    assert snapshot() == before


def test_metadata_without_a_post_consumer_is_refused(app, admin, sp, snapshot):
    """Our responses use HTTP-POST only (bindings §3.5): an SP must offer such an ACS."""
    before = snapshot()
    xml = sp.metadata().replace("bindings:HTTP-POST", "bindings:HTTP-Artifact")
    answer = admin.submit(PAGE, metadata=xml, name_id_format="email", attributes="email")
    assert answer.status_code == 400
    assert "no HTTP-POST AssertionConsumerService" in answer.text
    assert snapshot() == before


def test_cli_adds_lists_and_removes(app, cli_env, sp, tmp_path):  # noqa: F811
    path = tmp_path / "sp.xml"
    path.write_text(sp.metadata())

    added = run(
        "saml-sps",
        "add",
        "--metadata",
        str(path),
        "--name-id-format",
        "persistent",
        "--attribute",
        "email",
        "--attribute",
        "organization_roles",
        env=cli_env,
    )
    again = run("saml-sps", "add", "--metadata", str(path), env=cli_env)
    listed = run("saml-sps", "list", env=cli_env)
    removed = run("saml-sps", "remove", sp.entity_id, env=cli_env)
    missing = run("saml-sps", "remove", sp.entity_id, env=cli_env)

    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["attributes"] == ["email", "organization_roles"]
    assert again.returncode == 1
    assert "already registered" in again.stderr and sp.entity_id in again.stderr
    assert json.loads(listed.stdout)["name_id_format"] == "persistent"
    assert removed.returncode == 0 and providers(app) == []
    assert missing.returncode == 1 and "No service provider" in missing.stderr
    assert len(audited(app, "saml_service_provider_created")) == 1
    assert len(audited(app, "saml_service_provider_deleted")) == 1


@pytest.fixture
def metadata_server(sp) -> Iterator[str]:
    body = sp.metadata().encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/metadata"
    server.shutdown()
    server.server_close()


def test_cli_adds_from_a_url(app, cli_env, sp, metadata_server):  # noqa: F811
    added = run("saml-sps", "add", "--metadata", metadata_server, env=cli_env)
    assert added.returncode == 0, added.stderr
    [provider] = providers(app)
    assert provider.entity_id == sp.entity_id and provider.metadata_url == metadata_server


def test_parallel_registrations_of_one_entity_keep_one(server, idp_metadata):
    """Several "Register" sent at once: one registers, the others get the message a second
    registration gets, and one row exists."""
    with server.app.app_context():
        users.create_user(ADMIN, "Grace", PASSWORD, is_admin=True)
    browser = Browser(server)
    assert browser.sign_in(ADMIN).status_code == 303
    metadata = SamlSp("http://sp.test", idp_metadata).metadata()
    token = browser.csrf(PAGE)
    form = {
        "csrf_token": token,
        "metadata": metadata,
        "name_id_format": "email",
        "attributes": "email",
        "enabled": "y",
    }

    answers = at_once(
        browser,
        lambda session, _: session.post(
            server.url + PAGE, data=form, allow_redirects=False, timeout=30
        ),
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [303] + [400] * (PARALLEL - 1), [a.text[:300] for a in answers]
    for answer in answers:
        if answer.status_code == 400:
            assert "is already registered" in answer.text
    assert count(server.app, SamlServiceProvider) == 1
