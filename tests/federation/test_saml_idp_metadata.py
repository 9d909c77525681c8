"""Our IdP metadata (SAML metadata §2.3, §2.4.1.1, §2.4.3) and its certificates across key
rotation: the next certificate is published before it signs; assertions are signed by the
active key; the certificate is the same in every process."""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from idp.keys import app_keys
from idp.settings import Settings
from tests.federation.saml_idp_fixtures import path_of, posted, register
from tests.federation.saml_sp_peer import SamlSp
from tests.test_cli import cli_env, run  # noqa: F401 (cli_env is a fixture)

MD = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}


@pytest.fixture
def own_keys(env, tmp_path):
    """These tests rotate keys, so they get a key folder of their own."""
    env["IDP_KEYS_DIR"] = str(tmp_path / "keys")
    return env


def certificates(metadata: str) -> list[str]:
    root = etree.fromstring(metadata.encode())
    path = "md:IDPSSODescriptor/md:KeyDescriptor[@use='signing']//ds:X509Certificate"
    return [node.text for node in root.findall(path, MD)]


def test_metadata_describes_the_idp(http):
    """§2.4.3: SingleSignOnService for both bindings, SingleLogoutService, the NameID
    formats, and a signing certificate; the entityID is the URL it is served at."""
    answer = http.get("/saml/metadata")

    assert answer.headers["Content-Type"].startswith("application/samlmetadata+xml")
    root = etree.fromstring(answer.content)
    assert root.get("entityID") == "http://127.0.0.1:5000/saml/metadata"
    idp = root.find("md:IDPSSODescriptor", MD)
    bindings = {
        e.get("Binding").rsplit(":", 1)[1] for e in idp.findall("md:SingleSignOnService", MD)
    }
    assert bindings == {"HTTP-Redirect", "HTTP-POST"}
    assert idp.find("md:SingleLogoutService", MD).get("Location").endswith("/saml/slo")
    formats = [e.text for e in idp.findall("md:NameIDFormat", MD)]
    assert formats == [
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    ]
    [der] = certificates(answer.text)
    key = x509.load_der_x509_certificate(base64.b64decode(der)).public_key()
    assert isinstance(key, rsa.RSAPublicKey)


def test_certificate_is_the_same_in_every_process(own_keys, app, build_app):
    """SPs pin the certificate: another process (another app) must publish the same bytes."""
    first = app.test_client().get("/saml/metadata").data
    again = build_app(Settings.from_env(own_keys)).test_client().get("/saml/metadata").data
    assert certificates(first.decode()) == certificates(again.decode())


def test_rotation_publishes_the_next_certificate_and_the_active_key_signs(
    own_keys, app, http, browser, make_user
):
    """§2.4.1.1: several signing KeyDescriptors; during a rotation the next key is listed
    (active first) and does not sign yet: an SP that trusts only the active certificate
    accepts the assertion, one that trusts only the next refuses it."""
    [active] = certificates(http.get("/saml/metadata").text)
    with app.app_context():
        app_keys().rotate(activate_after=3600)

    published = certificates(http.get("/saml/metadata").text)

    assert published[0] == active and len(published) == 2
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    metadata = http.get("/saml/metadata").text
    trusting_active = SamlSp("http://sp.test", metadata)
    trusting_active.settings["idp"].pop("x509certMulti", None)
    trusting_active.settings["idp"]["x509cert"] = published[0]
    register(app, trusting_active)
    fields = posted(browser.get(path_of(trusting_active.login_url())).text)[1]
    assert trusting_active.accept(fields)["errors"] == []
    trusting_next = SamlSp(
        "http://sp.test", metadata, key=(trusting_active.key_pem, trusting_active.certificate_pem)
    )
    trusting_next.settings["idp"].pop("x509certMulti", None)
    trusting_next.settings["idp"]["x509cert"] = published[1]
    refused = trusting_next.accept(fields)
    assert refused["errors"] != [] and "ignature" in (refused["reason"] or ""), refused


@pytest.mark.settings(IDP_SIGNING_ALG="ES256")
def test_saml_keeps_an_rsa_key_line_of_its_own(own_keys, http, tmp_path):
    """SAML signs with RSA-SHA256: with ES256 ID tokens, its keys live in a line of their own
    (saml-rs256), rotated by the same rules."""
    [der] = certificates(http.get("/saml/metadata").text)
    assert isinstance(
        x509.load_der_x509_certificate(base64.b64decode(der)).public_key(), rsa.RSAPublicKey
    )
    assert (tmp_path / "keys" / "saml-rs256").is_dir()


def test_idp_keys_rotate_saml_publishes_the_next_certificate(cli_env, build_app):  # noqa: F811
    """`idp keys rotate --saml` adds a key to SAML's own line; the metadata then lists its
    certificate after the active one (§2.4.1.1). With RS256 ID tokens there is no own line."""
    es256 = {**cli_env, "IDP_SIGNING_ALG": "ES256"}
    first = run("keys", "rotate", "--saml", "--activate-after", "0", env=es256)
    second = run("keys", "rotate", "--saml", "--activate-after", "600", env=es256)
    shared = run("keys", "rotate", "--saml", env=cli_env)

    assert first.returncode == 0 and "(RS256)" in first.stdout, first.stderr
    assert second.returncode == 0, second.stderr
    assert shared.returncode == 1 and "IDP_SIGNING_ALG is RS256" in shared.stderr
    app = build_app(Settings.from_env({**es256, "IDP_ISSUER": "http://127.0.0.1:5000"}))
    published = certificates(app.test_client().get("/saml/metadata").data.decode())
    assert len(published) == 2
