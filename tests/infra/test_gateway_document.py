"""deploy/gateway.py: the API Gateway (Swagger 2.0) document derived from the OpenAPI 3.1 one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deploy import gateway
from tests.infra.conftest import ROOT

FUNCTIONS = {"me", "list-parties", "signup", "relay-outbox", "notify-guest"}
BACKENDS = {
    "me": "https://me-abc-ew.a.run.app",
    "list-parties": "https://list-parties-abc-ew.a.run.app",
    "signup": "https://signup-abc-ew.a.run.app",
}


def sample_openapi() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Realm API", "version": "1.2.3"},
        "components": {"securitySchemes": {"firebase": {"type": "http", "scheme": "bearer"}}},
        "security": [{"firebase": []}],
        "paths": {
            "/me": {
                "get": {"operationId": "me", "responses": {"200": {"description": "the user"}}}
            },
            "/list-parties": {
                "get": {
                    "operationId": "list_parties",
                    "description": "costs ${money} and %{percent}",
                    "parameters": [
                        {
                            "name": "view",
                            "in": "query",
                            "required": True,
                            "schema": {"enum": ["invited", "confirmed"], "type": "string"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                        },
                        {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "ok"}, "422": {"description": "bad"}},
                }
            },
            "/signup": {
                "post": {
                    "requestBody": {"content": {"multipart/form-data": {"schema": {}}}},
                    "responses": {"201": {"description": "created"}},
                }
            },
            "/relay-outbox": {"post": {"responses": {"200": {"description": "internal"}}}},
        },
    }


def rendered(openapi: dict[str, Any]) -> dict[str, Any]:
    template = gateway.gateway_template(openapi, FUNCTIONS)
    doc = json.loads(gateway.render(template, "realm-prod", BACKENDS))
    assert isinstance(doc, dict)
    return doc


def test_every_public_path_routes_to_its_private_function_by_the_functions_name() -> None:
    doc = rendered(sample_openapi())
    assert doc["swagger"] == "2.0"
    assert set(doc["paths"]) == {"/me", "/list-parties", "/signup"}, "relay-outbox stays internal"
    for path, item in doc["paths"].items():
        for op in item.values():
            backend = op["x-google-backend"]
            assert backend["address"] == BACKENDS[path.strip("/")]
            assert backend["path_translation"] == "CONSTANT_ADDRESS"


def test_every_operation_requires_a_firebase_id_token_of_the_project() -> None:
    doc = rendered(sample_openapi())
    firebase = doc["securityDefinitions"]["firebase"]
    assert firebase["x-google-issuer"] == "https://securetoken.google.com/realm-prod"
    assert firebase["x-google-audiences"] == "realm-prod"
    assert firebase["x-google-jwks_uri"].endswith("securetoken@system.gserviceaccount.com")
    assert doc["security"] == [{"firebase": []}]


def test_query_parameters_become_swagger_2_parameters_and_authorization_is_left_to_security() -> (
    None
):
    op = rendered(sample_openapi())["paths"]["/list-parties"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert set(params) == {"view", "limit"}
    assert params["view"] == {
        "name": "view",
        "in": "query",
        "required": True,
        "type": "string",
        "enum": ["invited", "confirmed"],
    }
    assert params["limit"]["type"] == "integer"
    assert params["limit"]["required"] is False
    assert rendered(sample_openapi())["paths"]["/signup"]["post"]["consumes"] == [
        "multipart/form-data"
    ]


def test_template_markers_in_the_source_document_survive_terraform_templatefile() -> None:
    template = gateway.gateway_template(sample_openapi(), FUNCTIONS)
    assert "$${money}" in template
    assert "%%{percent}" in template
    op = rendered(sample_openapi())["paths"]["/list-parties"]["get"]
    assert op["description"] == "costs ${money} and %{percent}"


def test_a_path_without_a_function_is_refused() -> None:
    doc = sample_openapi()
    doc["paths"]["/no-such-function"] = {"get": {"responses": {}}}
    with pytest.raises(gateway.GatewayError, match="no-such-function"):
        gateway.gateway_template(doc, FUNCTIONS)


def test_the_committed_openapi_document_converts_for_the_functions_in_the_repository() -> None:
    source = ROOT / "shared" / "realm" / "openapi.json"
    if not source.is_file():
        pytest.skip("shared/realm/openapi.json is not committed yet")
    functions = {p.parent.name.replace("_", "-") for p in (ROOT / "functions").glob("*/main.py")}
    template = gateway.gateway_template(json.loads(source.read_text(encoding="utf-8")), functions)
    doc = json.loads(
        gateway.render(template, "realm-prod", {f: f"https://{f}.run.app" for f in functions})
    )
    routed = {p.strip("/").split("/")[0] for p in doc["paths"]}
    assert routed <= functions - gateway.INTERNAL_FUNCTIONS


def test_an_operation_declared_without_security_is_routed_without_a_token_check() -> None:
    doc = sample_openapi()
    doc["paths"]["/me"]["get"]["security"] = []
    out = rendered(doc)
    assert out["paths"]["/me"]["get"]["security"] == []
    assert "security" not in out["paths"]["/list-parties"]["get"], "the document's rule holds"
    assert out["security"] == [{"firebase": []}]


def test_in_the_committed_document_only_the_calendar_feed_goes_without_a_firebase_token() -> None:
    source = ROOT / "shared" / "realm" / "openapi.json"
    functions = {p.parent.name.replace("_", "-") for p in (ROOT / "functions").glob("*/main.py")}
    template = gateway.gateway_template(json.loads(source.read_text(encoding="utf-8")), functions)
    doc = json.loads(
        gateway.render(template, "realm-prod", {f: f"https://{f}.run.app" for f in functions})
    )
    assert doc["security"] == [{"firebase": []}]
    open_routes = {
        (path, method)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if "security" in op
    }
    assert open_routes == {("/calendar", "get")}
    assert doc["paths"]["/calendar"]["get"]["security"] == []
    assert doc["paths"]["/calendar"]["get"]["x-google-backend"]["address"] == (
        "https://calendar.run.app"
    )
    assert "/send-reminders" not in doc["paths"]
    assert "/relay-outbox" not in doc["paths"]
