"""Who may call the management API: an API key (revoked and expired ones refused, each
with its own rate limit and permissions), or a client's access token from the
client_credentials grant for the API's audience with the API's scopes (RFC 8707 §2,
RFC 9068 §4). A 401 carries a Bearer challenge (RFC 6750 §3); a missing permission is 403
(RFC 6750 §3.1 insufficient_scope)."""

from __future__ import annotations

from datetime import timedelta

from idp.api.models import ApiKey
from idp.db import db
from idp.identity import users
from tests.api.conftest import Api, key_id, make_key
from tests.oauth.issued import issue, post_as


def last_used(app, secret: str):
    with app.app_context():
        return db.session.get(ApiKey, key_id(app, secret)).last_used_at


def test_no_credentials_get_a_bearer_challenge(http):
    response = Api(http, None)("GET", "/clients")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'  # RFC 6750 §3.1
    assert response.json()["detail"] == (
        "Send an API key or an access token: Authorization: Bearer <credential>."
    )


def test_an_unknown_key_is_refused(http):
    response = Api(http, "idp_AAAAAAAA_nothing")("GET", "/clients")

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json()["detail"] == "The API key is not known here."


def test_a_revoked_key_is_refused(app, api, admin_key):
    revoked = api("POST", f"/api-keys/{key_id(app, admin_key)}/revoke")
    assert revoked.json()["revoked_at"] is not None

    response = api("GET", "/clients")

    assert response.status_code == 401
    assert response.json()["detail"] == "The API key was revoked."


def test_an_expired_key_is_refused(app, http, clock):
    key = make_key(app, expires_in_days=1)
    assert Api(http, key)("GET", "/clients").status_code == 200

    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    response = Api(http, key)("GET", "/clients")

    assert response.status_code == 401
    assert response.json()["detail"] == "The API key has expired."


def test_a_key_without_the_permission_gets_403_and_changes_nothing(app, http, snapshot):
    key = make_key(app, permissions=["admin:clients:read"])
    reader = Api(http, key)
    assert reader("GET", "/clients").status_code == 200
    before = snapshot()

    response = reader("POST", "/clients", json={"client_name": "Shop"})

    assert response.status_code == 403
    assert response.json()["detail"] == "This needs the permission admin:clients:write."
    assert snapshot() == before


def test_a_key_holds_no_more_than_its_owner(app, http):
    key = make_key(app)
    with app.app_context():
        user = users.find_by_email("grace@example.com")
        user.is_admin = False
        db.session.commit()

    response = Api(http, key)("GET", "/clients")

    assert response.status_code == 403


def test_a_person_who_is_not_an_admin_cannot_give_a_key_permissions(app, api, make_user, snapshot):
    ada = make_user()
    before = snapshot()

    response = api(
        "POST", "/api-keys", json={"name": "x", "user_id": ada, "permissions": ["admin:keys:read"]}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "Only an administrator's key can hold management permissions."
    )
    assert snapshot() == before


def test_each_key_has_its_own_rate_limit(app, http):
    slow = Api(http, make_key(app, rate_limit=2))
    other = Api(http, make_key(app))

    answers = [slow("GET", "/clients").status_code for _ in range(3)]

    assert answers == [200, 200, 429]
    refused = slow("GET", "/clients")
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["detail"].startswith("This key allows 2 requests a minute;")
    assert other("GET", "/clients").status_code == 200


def test_the_last_use_is_written_at_most_once_a_minute(app, http, clock):
    secret = make_key(app)
    key = Api(http, secret)
    key("GET", "/clients")
    first = last_used(app, secret)

    clock.advance(30)
    key("GET", "/clients")
    assert last_used(app, secret) == first
    clock.advance(31)
    key("GET", "/clients")

    assert last_used(app, secret) > first


def admin_client(make_client, scopes):
    return make_client(grant_types=["client_credentials"], redirect_uris=[], scopes=scopes)


def cc_token(http, client, **form) -> str:
    response = post_as(http, client, "/token", grant_type="client_credentials", **form)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_a_client_credentials_token_with_the_admin_scope(http, make_client):
    client = admin_client(make_client, ["admin:clients:read"])
    token = cc_token(http, client, resource=http.base + "/api", scope="admin:clients:read")

    listed = Api(http, token)("GET", "/clients")
    refused = Api(http, token)("POST", "/clients", json={"client_name": "Shop"})

    assert listed.status_code == 200
    assert [c["client_id"] for c in listed.json()["clients"]] == [client.client_id]
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This needs the permission admin:clients:write."


def test_a_token_without_the_admin_scope_gets_403(http, make_client):
    client = admin_client(make_client, ["openid", "admin:clients:read"])
    token = cc_token(http, client, resource=http.base + "/api", scope="openid")

    response = Api(http, token)("GET", "/clients")

    assert response.status_code == 403


def test_a_token_for_another_audience_is_refused(http, make_client):
    client = admin_client(make_client, ["admin:clients:read"])
    token = cc_token(http, client, scope="admin:clients:read")  # no resource: aud is the issuer

    response = Api(http, token)("GET", "/clients")

    assert response.status_code == 401
    assert (
        response.json()["detail"]
        == f"The access token is not for the management API ({http.base}/api)."
    )


def test_a_client_not_registered_for_the_admin_scopes_cannot_get_them(http, make_client):
    client = admin_client(make_client, ["openid"])

    response = post_as(
        http,
        client,
        "/token",
        grant_type="client_credentials",
        resource=http.base + "/api",
        scope="admin:clients:read",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"  # RFC 6749 §5.2


def test_a_disabled_clients_token_stops_working(app, http, api, make_client):
    client = admin_client(make_client, ["admin:clients:read"])
    token = cc_token(http, client, resource=http.base + "/api", scope="admin:clients:read")
    api("POST", f"/clients/{client.client_id}/disable")

    response = Api(http, token)("GET", "/clients")

    assert response.status_code == 401
    assert response.json()["detail"] == "The access token was revoked."


def test_a_persons_token_is_not_a_key_to_the_api(http, browser, make_user, make_client):
    make_user()
    client = make_client(scopes=["openid", "admin:clients:read"])
    token = issue(
        http, browser, client, scope="openid admin:clients:read", resource=http.base + "/api"
    )

    response = Api(http, token["access_token"])("GET", "/clients")

    assert response.status_code == 401
    assert response.json()["detail"] == (
        "The management API takes client-credentials tokens, not a person's."
    )
