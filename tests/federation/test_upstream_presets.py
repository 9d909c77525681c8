"""The registry of provider kinds, and Microsoft's multi-tenant issuer: its discovery
document names `{tenantid}`, and each ID token's `iss` must be that template filled with the
token's own `tid` (Microsoft identity platform, "Validate the issuer"; OpenID Connect Core
§3.1.3.7 (2))."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idp.errors import InvalidInput
from idp.federation.upstream.presets import KINDS, preset
from tests.federation.scripted import ScriptedOp
from tests.federation.test_upstream_refusals import call_back, failures, start_scripted

pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
TID = "9188040d-6c67-4c5b-b112-36a304b66dad"


def test_the_registry():
    assert KINDS == ["oidc", "google", "microsoft", "gitlab", "github"]
    assert preset("google").issuer(None) == "https://accounts.google.com"
    assert preset("gitlab").issuer("https://gitlab.example.com") == "https://gitlab.example.com"
    assert preset("microsoft").issuer(None) == "https://login.microsoftonline.com/common/v2.0"
    with pytest.raises(InvalidInput, match="needs its issuer URL"):
        preset("oidc").issuer(None)
    with pytest.raises(InvalidInput, match="Microsoft tenant"):
        preset("microsoft").issuer("common/../x")


@pytest.fixture
def entra() -> Iterator[ScriptedOp]:
    """A scripted provider answering as Microsoft's `common` endpoint does."""
    op = ScriptedOp()
    tenant_doc = op._discovery

    def discovery(params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        status, doc = tenant_doc(params, headers)
        return status, {**doc, "issuer": op.url + "/{tenantid}/v2.0"}

    op.server.routes[("GET", "/common/v2.0/.well-known/openid-configuration")] = discovery
    yield op
    op.stop()


def test_a_token_from_any_tenant_names_its_own_issuer(server, entra):
    http, query = start_scripted(server, entra, kind="microsoft", issuer="/common/v2.0")
    entra.id_token_claims(query["nonce"], iss=f"{entra.url}/{TID}/v2.0", tid=TID)

    assert call_back(server, http, query).status_code == 303
    assert failures(server.app) == []


def test_a_token_whose_issuer_is_another_tenant_is_refused(server, entra, snapshot):
    http, query = start_scripted(server, entra, kind="microsoft", issuer="/common/v2.0")
    entra.id_token_claims(query["nonce"], iss=f"{entra.url}/another-tenant/v2.0", tid=TID)
    before = snapshot()

    answer = call_back(server, http, query)

    assert answer.status_code == 400
    assert failures(server.app) == ["id_token_iss"]
    assert snapshot() == before
