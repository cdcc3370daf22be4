from typing import Any

import pytest
from pydantic import ValidationError

from realm.devstack import openapi
from realm.edge import api_models


def test_the_committed_openapi_document_matches_the_code() -> None:
    assert not openapi.is_stale(), "shared/realm/openapi.json is stale: run `make openapi`"


def test_the_document_describes_every_http_function_of_the_app() -> None:
    paths = openapi.document()["paths"]
    for name, method in [
        ("/signup", "post"),
        ("/me", "get"),
        ("/create-party", "post"),
        ("/create-invite", "post"),
        ("/respond-invite", "post"),
        ("/list-parties", "get"),
    ]:
        assert method in paths[name], name
        assert "401" in paths[name][method]["responses"]


def test_every_operation_that_creates_something_takes_an_idempotency_key() -> None:
    # An app retries a POST whose answer it lost; without a key a 201 creates twice.
    creating = {n for n, spec in openapi.endpoints().items() if 201 in spec.successes}
    assert creating, "the app creates things"
    assert {n for n in creating if not openapi.endpoints()[n].idempotent} == set()


DOC = openapi.document()
OPERATIONS = [
    (path, method, operation)
    for path, item in DOC["paths"].items()
    for method, operation in item.items()
]


def _schema(name: str) -> dict[str, Any]:
    return DOC["components"]["schemas"][name]  # type: ignore[no-any-return]


def test_every_operation_has_a_tag_a_summary_and_a_description_from_its_docstring() -> None:
    tags = {tag["name"] for tag in DOC["tags"]}
    for path, _method, operation in OPERATIONS:
        assert operation["summary"], path
        assert len(operation["description"]) > 20, path
        assert operation["tags"], path
        assert set(operation["tags"]) <= tags, path
    assert DOC["paths"]["/create-invite"]["post"]["description"].startswith(
        "The host or a co-host of a party"
    )
    assert DOC["paths"]["/create-invite"]["post"]["tags"] == ["hosting"]
    assert DOC["paths"]["/me"]["get"]["tags"] == ["people"]


def test_each_error_status_lists_exactly_the_codes_the_endpoint_declares_as_an_enum() -> None:
    declared = openapi.endpoints()
    for path, _method, operation in OPERATIONS:
        spec = declared[path.lstrip("/")]
        for status, codes in spec.error_codes().items():
            response = operation["responses"][str(status)]
            schema = response["content"]["application/json"]["schema"]
            assert schema["properties"]["error"]["properties"]["code"]["enum"] == codes
        documented = {int(s) for s in operation["responses"]} - set(spec.successes)
        assert documented == set(spec.error_codes()), path


def test_503_and_429_document_retry_after_and_every_answer_cache_control() -> None:
    for path, _, operation in OPERATIONS:
        responses = operation["responses"]
        assert "Retry-After" in responses["503"]["headers"], path
        if "429" in responses:
            assert "Retry-After" in responses["429"]["headers"], path
        for status, response in responses.items():
            assert "Cache-Control" in response["headers"], (path, status)
        if "401" in responses:  # every operation but the calendar feed, whose secret is its token
            assert "WWW-Authenticate" in responses["401"]["headers"]
        assert "Allow" in responses["405"]["headers"]
    assert DOC["components"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert "429" in DOC["paths"]["/create-party"]["post"]["responses"]
    assert "411" in DOC["paths"]["/signup"]["post"]["responses"]


def test_error_details_and_photo_urls_are_typed() -> None:
    detail = _schema("ErrorDetail")
    assert set(detail["required"]) == {"field", "type", "message"}
    urls = _schema("PhotoUrlsOut")
    assert set(urls["properties"]) == {"display", "512", "128"}
    assert set(urls["required"]) == {"display", "512", "128"}
    photo_urls = _schema("PhotoOut")["properties"]["urls"]
    assert {"$ref": "#/components/schemas/PhotoUrlsOut"} in photo_urls["anyOf"]
    assert "urls" in _schema("PhotoOut")["required"], "always sent, null when not ready"


def test_the_email_and_phone_patterns_checked_at_run_time_are_in_the_schema() -> None:
    form = DOC["paths"]["/signup"]["post"]["requestBody"]["content"]["multipart/form-data"]
    properties = form["schema"]["properties"]
    assert properties["email"]["pattern"] == api_models.EMAIL_PATTERN
    phone = next(s for s in properties["phone"]["anyOf"] if s.get("type") == "string")
    assert phone["pattern"] == api_models.PHONE_PATTERN
    # ...and they are the ones the model enforces.
    with pytest.raises(ValidationError, match="pattern"):
        api_models.SignupForm.model_validate({"display_name": "A", "email": "no-at-sign"})
    with pytest.raises(ValidationError, match="pattern"):
        api_models.SignupForm.model_validate(
            {"display_name": "A", "email": "a@b.co", "phone": "0151 1234"}
        )


def _no_null_default(schema: Any) -> bool:
    if isinstance(schema, dict):
        if schema.get("default", 0) is None:
            return False
        return all(_no_null_default(v) for v in schema.values())
    if isinstance(schema, list):
        return all(_no_null_default(v) for v in schema)
    return True


def test_optional_request_fields_are_optional_and_carry_no_null_default() -> None:
    party = _schema("CreatePartyRequest")
    assert set(party["required"]) == {"flat", "first_entry"}
    for name, schema in DOC["components"]["schemas"].items():
        if name.endswith(("Request", "Query", "Form")):
            assert _no_null_default(schema), name
    for _, _, operation in OPERATIONS:
        assert _no_null_default(operation.get("requestBody", {}))
        assert _no_null_default(operation.get("parameters", []))


def test_the_multipart_photo_is_a_binary_required_by_photo_upload_and_optional_in_signup() -> None:
    def form(path: str) -> dict[str, Any]:
        body = DOC["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
        return body["schema"]  # type: ignore[no-any-return]

    assert form("/photo-upload")["properties"]["photo"]["format"] == "binary"
    assert "photo" in form("/photo-upload")["required"]
    assert form("/signup")["properties"]["photo"]["format"] == "binary"
    assert "photo" not in form("/signup")["required"]


def test_servers_are_the_cloud_entry_point_as_a_variable_then_the_local_stack() -> None:
    cloud, local = DOC["servers"]
    assert cloud["url"] == "https://{gateway_host}"
    assert cloud["variables"]["gateway_host"]["default"].endswith(".gateway.dev")
    assert local["url"] == "http://127.0.0.1:8080"
