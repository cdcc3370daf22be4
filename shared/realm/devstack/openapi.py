"""The OpenAPI document of the app's API, generated from each function's ``@endpoint``
declaration and the pydantic models, and committed at ``shared/realm/openapi.json``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from realm.devstack.server import deployed_name, function_names, functions_dir
from realm.edge import api_models
from realm.edge.http import Endpoint

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi.json"

_STATUS_TEXT = {
    400: "Malformed request (bad JSON, bad cursor)",
    401: "Missing or invalid token",
    403: "Not allowed for this caller",
    404: "Unknown resource",
    405: "Wrong method",
    408: "The body did not arrive in time",
    409: "Conflict with the current state",
    411: "Content-Length required",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Valid JSON, invalid values",
    429: "Over a quota; see Retry-After",
    500: "A bug on our side",
    503: "A dependency is down or busy; see Retry-After",
}


def endpoints() -> dict[str, Endpoint]:
    found: dict[str, Endpoint] = {}
    for folder in function_names():
        spec = importlib.util.spec_from_file_location(
            f"realm_fn_{folder}", functions_dir() / folder / "main.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        declared = getattr(getattr(module, folder), "__realm_endpoint__", None)
        if isinstance(declared, Endpoint):
            found[deployed_name(folder)] = declared
    return found


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(name: str, spec: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": name.replace("-", "_"), "summary": spec.summary}
    if spec.query is not None:
        schema = spec.query.model_json_schema()
        operation["parameters"] = [
            {
                "name": field,
                "in": "query",
                "required": field in schema.get("required", []),
                "schema": prop,
            }
            for field, prop in schema["properties"].items()
        ]
    if spec.idempotent:
        operation.setdefault("parameters", []).append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Any unique string (a UUID), 1-255 visible ASCII characters."
                " A retry with the same key and input within 24 hours gets the first response"
                " back (Idempotent-Replayed: true) instead of doing it again.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(spec.body)}},
        }
    if spec.form is not None:
        form = spec.form.model_json_schema()
        for file_part in spec.files:
            form["properties"][file_part] = {"type": "string", "format": "binary"}
        request_body = operation.setdefault("requestBody", {"required": True, "content": {}})
        request_body["content"]["multipart/form-data"] = {"schema": form}
    responses: dict[str, Any] = {
        str(spec.status): {
            "description": "Success",
            "content": {"application/json": {"schema": _ref(spec.response)}},
        }
    }
    for status, codes in spec.error_codes().items():
        responses[str(status)] = {
            "description": f"{_STATUS_TEXT.get(status, 'Error')}: {', '.join(codes)}",
            "content": {"application/json": {"schema": _ref(api_models.ErrorOut)}},
        }
    operation["responses"] = responses
    return operation


def document() -> dict[str, Any]:
    declared = endpoints()
    models: set[type[BaseModel]] = {api_models.ErrorOut}
    for spec in declared.values():
        models.add(spec.response)
        if spec.body is not None:
            models.add(spec.body)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, components = models_json_schema(
        [
            (m, "validation" if issubclass(m, api_models.Request) else "serialization")
            for m in ordered
        ],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Realm API",
            "version": "1.0.0",
            "description": "The mobile app's API. Every call needs a Firebase ID token. Errors "
            'are {"error": {"code", "message", "details"}}.',
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "make run"}],
        "security": [{"firebase": []}],
        "paths": {
            f"/{name}": {spec.method.lower(): _operation(name, spec)}
            for name, spec in sorted(declared.items())
        },
        "components": {
            "schemas": components.get("$defs", {}),
            "securitySchemes": {
                "firebase": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "Firebase ID token (JWT)",
                }
            },
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def write() -> None:
    DOCUMENT.write_text(render())


def is_stale() -> bool:
    return not DOCUMENT.exists() or DOCUMENT.read_text() != render()
