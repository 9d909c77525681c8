"""The OpenAPI 3.1 document at /api/openapi.json, held against the routes: every /api route
is documented, every documented operation is routed, with the same methods. And every
endpoint, from its declaration, refuses a body that is not JSON (400) and one of the wrong
type (422), as problem details (RFC 9457), storing nothing."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from idp.api.registry import api as declared

WITH_BODY = [e for e in declared.endpoints if e.body is not None]
SAMPLE_PARAMS = {"string": "nobody", "integer": "999999"}
WRONG = [12, "text", True, [], {}]  # for each member, the first its schema refuses


def test_the_document_is_openapi_3_1_and_valid_json_schema(http):
    document = http.get("/api/openapi.json").json()

    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": http.base + "/api"}]
    for item in document["paths"].values():
        for operation in item.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                Draft202012Validator.check_schema(media["schema"])


def test_every_route_is_documented_and_every_documented_path_is_routed(app, http):
    document = http.get("/api/openapi.json").json()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    routed = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api")))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.endpoint != "api.openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert routed == documented


def test_every_operation_documents_its_permission_and_errors(http):
    document = http.get("/api/openapi.json").json()

    for item in document["paths"].values():
        for operation in item.values():
            assert "401" in operation["responses"]
            scopes = operation["security"][1]["oauth2"]
            if scopes:
                assert "403" in operation["responses"]
                assert (
                    scopes[0]
                    in document["components"]["securitySchemes"]["oauth2"]["flows"][
                        "clientCredentials"
                    ]["scopes"]
                )


def _path(endpoint) -> str:
    return re.sub(
        r"\{(\w+)\}",
        lambda m: SAMPLE_PARAMS[endpoint.path_params[m.group(1)]["type"]],
        endpoint.path,
    )


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=lambda e: f"{e.method} {e.path}")
def test_a_body_that_is_not_json_is_refused(api, snapshot, endpoint):
    before = snapshot()

    response = api(
        endpoint.method,
        _path(endpoint),
        data='{"name": ',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "The body is not JSON."
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=lambda e: f"{e.method} {e.path}")
@pytest.mark.parametrize("body", [[], "text", 7, None])
def test_a_body_that_is_not_an_object_is_refused(api, snapshot, endpoint, body):
    before = snapshot()

    response = api(endpoint.method, _path(endpoint), json={"x": body})  # wrong member
    whole = api(
        endpoint.method,
        _path(endpoint),
        data=_json(body),
        headers={"Content-Type": "application/json"},
    )

    for refused in (response, whole):
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"] == "The body does not match the schema."
    assert whole.json()["errors"][0]["pointer"] == ""
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=lambda e: f"{e.method} {e.path}")
def test_each_member_of_the_wrong_type_is_refused(api, snapshot, endpoint):
    before = snapshot()

    for name, schema in endpoint.body["properties"].items():
        wrong = next(v for v in WRONG if not Draft202012Validator(schema).is_valid(v))
        response = api(endpoint.method, _path(endpoint), json={name: wrong})

        assert response.status_code == 422, (name, response.text)
        pointers = [error["pointer"] for error in response.json()["errors"]]
        assert f"/{name}" in pointers, (name, pointers)
    assert snapshot() == before


def _json(value) -> str:
    return json.dumps(value)


def test_an_unknown_path_or_method_is_a_problem_too(api):
    missing = api("GET", "/nothing-here")
    wrong = api("PUT", "/clients", json={})

    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert wrong.status_code == 405  # RFC 9110 §15.5.6: with the methods it allows
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert wrong.json()["status"] == 405
