"""Access tokens signed with IDP_ACCESS_TOKEN_ALG, ID tokens with IDP_SIGNING_ALG.

RFC 9068 §2.1 and §4: a JWT access token names its algorithm and key (`alg`, `kid`), and a
resource server verifies it against the issuer's published keys; RFC 7517 §5: the JWKS holds
every key that signs, so both lines of keys are published. OpenID Connect Core §3.1.3.6:
`at_hash` is computed with the ID token's algorithm, whatever signed the access token.
Each scenario runs twice: access tokens on the ID tokens' RS256 keys (the default), and on
ES256 keys of their own.
"""

from __future__ import annotations

import json

import pytest
import requests
from joserfc.jws import extract_compact

from idp.resource import ResourceServer
from tests.oauth.issued import issue, post_as, refresh
from tests.resource.test_verifier import RESOURCE_A, client_credentials_token
from tests.test_cli import run

ES256 = pytest.mark.settings(IDP_ACCESS_TOKEN_ALG="ES256")
BOTH = pytest.mark.parametrize(
    "alg", ["RS256", pytest.param("ES256", marks=ES256)], ids=["default", "es256"]
)


def header(token: str) -> dict[str, str]:
    return dict(extract_compact(token.encode()).headers())


def published_kids(url: str) -> set[str]:
    return {key["kid"] for key in requests.get(url + "/jwks.json", timeout=5).json()["keys"]}


@BOTH
def test_client_credentials_tokens_verify_at_a_resource_server(alg, server, make_client):
    service = make_client(grant_types=["client_credentials"], redirect_uris=[])
    token = client_credentials_token(server, service)
    api = ResourceServer(server.url, RESOURCE_A, ["profile"], accept_issuer_audience=True)

    assert header(token)["alg"] == alg
    assert header(token)["kid"] in published_kids(server.url)
    assert api.verify(token, ["profile"]).client_id == service.client_id
    introspected = post_as(server, service, "/introspect", token=token).json()
    assert (introspected["active"], introspected["client_id"]) == (True, service.client_id)


@BOTH
def test_the_code_flow_signs_access_and_id_tokens_each_with_its_algorithm(
    alg, server, browser, make_user, make_client
):
    make_user("ada@example.com")
    client = make_client()
    tokens = issue(server, browser, client, scope="openid profile offline_access")

    access, id_token = header(tokens["access_token"]), header(tokens["id_token"])
    assert (access["alg"], id_token["alg"]) == (alg, "RS256")
    assert {access["kid"], id_token["kid"]} <= published_kids(server.url)
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    assert requests.get(server.url + "/userinfo", headers=bearer, timeout=5).status_code == 200
    refreshed = refresh(server, client, tokens["refresh_token"]).json()
    assert header(refreshed["access_token"])["alg"] == alg
    assert post_as(server, client, "/introspect", token=refreshed["access_token"]).json()["active"]


def test_rotating_access_token_keys_needs_them_to_have_their_own(tmp_path, keys_dir):
    env = {"IDP_KEYS_DIR": str(keys_dir), "IDP_INSTANCE_DIR": str(tmp_path)}

    refused = run("keys", "rotate", "--access-tokens", env=env)

    assert refused.returncode == 1
    assert "Access tokens use the ID tokens' keys" in refused.stderr


def test_rotating_access_token_keys_leaves_the_id_token_keys(tmp_path):
    env = {
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_ACCESS_TOKEN_ALG": "ES256",
    }
    done = run("keys", "rotate", "--access-tokens", env=env)

    assert done.returncode == 0, done.stderr
    assert "(ES256)" in done.stdout
    # The ID tokens' line holds only the RS256 key the app made; the new key went to its own.
    assert algs(tmp_path / "keys") == ["RS256"]
    assert "ES256" in algs(tmp_path / "keys" / "access-es256")
    assert set(algs(tmp_path / "keys" / "access-es256")) == {"ES256"}


def algs(folder) -> list[str]:
    return [json.loads(path.read_text())["alg"] for path in sorted(folder.glob("*.json"))]
