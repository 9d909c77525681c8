"""Key rotation without downtime (OpenID Connect Core §10.1.1, RFC 7517 §5).

`idp keys rotate` publishes the new key at once and signs with it only after the activation
time; tokens signed before still verify against the JWKS, which then holds both keys.
"""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from tests.helpers.waiting import wait_until
from tests.test_cli import run


def client_credentials_token(http, client) -> str:
    response = http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def own_keys(env, tmp_path):
    """This test rotates keys, so it gets a key folder of its own."""
    env["IDP_KEYS_DIR"] = str(tmp_path / "keys")
    return env


def test_rotation_publishes_first_and_signs_after_activation(own_keys, http, make_client, clock):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[])
    before = client_credentials_token(http, client)
    old_kid = jwt.decode(
        before, KeySet.import_key_set(http.get("/jwks.json", timeout=5).json())
    ).header["kid"]

    rotated = run(
        "keys",
        "rotate",
        "--activate-after",
        "8",
        env={k: v for k, v in own_keys.items() if k.startswith("IDP_") or k in {"DATABASE_URL"}},
    )
    assert rotated.returncode == 0, rotated.stderr
    new_kid = rotated.stdout.split()[3]  # "Created signing key <kid> (RS256)."

    def jwks_naming_the_new_key() -> dict | None:
        jwks = http.get("/jwks.json", timeout=5).json()
        return jwks if new_kid in [key["kid"] for key in jwks["keys"]] else None

    # The store looks at the folder again at most a second after it last did.
    published = wait_until(jwks_naming_the_new_key, timeout=3, what="the new key published")
    still_old = client_credentials_token(http, client)
    store = http.app.extensions["idp.keys"]
    pending = next(key for key in store.keys() if key.kid == new_kid)  # noqa: SIM118 (a KeyStore)
    clock.advance_past(pending.activates_at)
    after = client_credentials_token(http, client)

    kids = [key["kid"] for key in published["keys"]]
    assert len(kids) == 2 and old_kid in kids
    keys = KeySet.import_key_set(http.get("/jwks.json", timeout=5).json())
    assert jwt.decode(still_old, keys).header["kid"] == old_kid  # not yet active: old key signs
    new = jwt.decode(after, keys)
    assert new.header["kid"] == new_kid != old_kid
    assert jwt.decode(before, keys).claims["client_id"] == client.client_id  # still verifies
    with http.app.app_context():  # a rotation is a security event, audited
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "key_rotated")
        ).one()
        assert event.subject == new_kid
