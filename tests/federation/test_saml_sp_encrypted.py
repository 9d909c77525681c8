"""Encrypted assertions (SAML core §2.3.4; XML Encryption 1.1 §5.2 and §5.4): each connection
publishes its own encryption certificate in its SP metadata; an assertion encrypted to it with
RSA-OAEP and AES is opened and then checked like any other (its signature still required);
RSA v1.5 key transport, another key, and what the plaintext hides are refused."""

from __future__ import annotations

import pytest
from lxml import etree

from idp.identity.users import find_by_email
from tests.federation.saml_idp_peer import (
    encrypt_assertion,
    make_key_pair,
    sp_encryption_certificate,
)
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.test_saml_sp_attacks import NS, refused


@pytest.mark.parametrize("data", ["aes256-cbc", "aes128-gcm"])
def test_an_encrypted_signed_assertion_signs_in(corp, browser, app, data):
    certificate = sp_encryption_certificate(corp.peer_metadata)
    xml = encrypt_assertion(corp.response(corp.start(browser)), certificate, data=data)
    assert b"EncryptedAssertion" in xml and b"eve@corp.example" not in xml
    assert corp.post(browser, xml).status_code == 303
    with app.app_context():
        assert find_by_email("eve@corp.example") is not None


def test_rsa_v1_5_key_transport_is_refused(corp, browser, snapshot):
    certificate = sp_encryption_certificate(corp.peer_metadata)
    xml = encrypt_assertion(corp.response(corp.start(browser)), certificate, key="rsa-1_5")
    refused(corp, browser, snapshot, xml, "decryption", "encrypted with RSA-OAEP")


def test_an_assertion_encrypted_for_another_key_is_refused(corp, browser, snapshot, tmp_path):
    other = make_key_pair(tmp_path, "not-our-sp").cert_pem
    xml = encrypt_assertion(corp.response(corp.start(browser)), other)
    refused(corp, browser, snapshot, xml, "decryption", "not encrypted for this connection")


def test_an_encrypted_unsigned_assertion_is_refused(corp, browser, snapshot):
    certificate = sp_encryption_certificate(corp.peer_metadata)
    unsigned = corp.response(corp.start(browser), sign_assertion=False)
    xml = encrypt_assertion(unsigned, certificate)
    refused(corp, browser, snapshot, xml, "unsigned", "Neither the response nor the assertion")


def test_a_comment_in_an_encrypted_name_id_is_refused(corp, browser, snapshot):
    def split(assertion: etree._Element) -> None:
        name_id = assertion.find("saml:Subject/saml:NameID", NS)
        name_id.text = "admin@corp.example"
        comment = etree.Comment("")
        comment.tail = ".evil.example"
        name_id.append(comment)

    certificate = sp_encryption_certificate(corp.peer_metadata)
    xml = corp.response(corp.start(browser), email="admin@corp.example.evil.example")
    encrypted = encrypt_assertion(xml, certificate, change=split)
    refused(corp, browser, snapshot, encrypted, "nameid_comment", "NameID contains a comment")
