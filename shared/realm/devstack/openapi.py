"""The OpenAPI document of the app's API, generated from each function's ``@endpoint``
declaration and the pydantic models, and committed at ``shared/realm/openapi.json``.

Nothing in it is kept by hand: the statuses and error codes of each operation come from
``Endpoint.error_codes()`` (the function's declared errors plus what the edge adds), the
descriptions from the functions' docstrings, the tags from the feature group each function
calls into. ``make test`` checks the document three ways: it is not stale, redocly lints it
clean, and clients generated from it (TypeScript and Python) compile and work; the end-to-end
suite checks every answer it receives against it (tests/contract.py).
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from realm.devstack.server import deployed_name, function_module, function_names
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
    422: "Valid JSON, invalid values, or against the rules",
    429: "Over a quota; see Retry-After",
    500: "A bug on our side",
    503: "A dependency is down or busy; see Retry-After",
}
_SUCCESS_TEXT = {200: "OK", 201: "Created", 202: "Accepted: finished in the background"}

# Feature groups a function may call into, first match wins; the group names the tag.
_TAGS = {
    "hosting": "Parties, invites and the host's screens.",
    "people": "The caller's profile, photo and other users.",
    "accounts": "Devices, notifications' read state, export and deletion of an account.",
    "media": "Photos.",
    "events": "Events and notifications.",
}
_IMAGE_TYPES = "image/jpeg, image/png, image/webp, image/heic, image/heif"

_HEADERS: dict[str, Any] = {
    "Cache-Control": {
        "description": "Always `no-store`: every answer is about the caller, never cache it.",
        "schema": {"type": "string", "enum": ["no-store"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "WWW-Authenticate": {
        "description": 'Bearer, with `error="invalid_token"` when a token was sent but refused.',
        "schema": {"type": "string"},
    },
    "Allow": {
        "description": "The one method this function answers.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Content-Disposition": {
        "description": "`attachment; filename=...`: save the body as a file of that name.",
        "required": True,
        "schema": {"type": "string"},
    },
}
_HEADERS_BY_STATUS = {
    401: ["WWW-Authenticate"],
    405: ["Allow"],
    429: ["Retry-After"],
    503: ["Retry-After"],
}

# The cloud entry point first: a generated client's default server is the first one.
SERVERS = [
    {
        "url": "https://{gateway_host}",
        "description": "The cloud: API Gateway in front of the functions "
        "(`terraform output base_url`).",
        "variables": {
            "gateway_host": {
                "default": "realm-production.ew.gateway.dev",
                "description": "The gateway's host name, from `terraform output base_url` "
                "of the environment (production, staging).",
            }
        },
    },
    {"url": "http://127.0.0.1:8080", "description": "The local stack of `make run`."},
]


def endpoints() -> dict[str, Endpoint]:
    return {name: declared for name, (declared, _) in _declared().items()}


def _declared() -> dict[str, tuple[Endpoint, Any]]:
    found: dict[str, tuple[Endpoint, Any]] = {}
    for folder in function_names():
        module = function_module(folder)
        declared = getattr(getattr(module, folder), "__realm_endpoint__", None)
        if isinstance(declared, Endpoint):
            found[deployed_name(folder)] = (declared, module)
    return found


def tag_of(module: Any) -> str:
    """The first feature group (or else media, events) the function's module imports."""
    tree = ast.parse(inspect.getsource(module))
    imported = {
        part
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for part in node.module.split(".")[1:2]
        if node.module.startswith("realm.")
    }
    return next((tag for tag in _TAGS if tag in imported), "other")


def description_of(module: Any) -> str:
    """The function module's docstring, without its leading ``name:``."""
    text = inspect.cleandoc(module.__doc__ or "")
    head, sep, rest = text.partition(":")
    if sep and head.strip().replace("-", "").replace("_", "").isalnum() and " " not in head:
        text = rest.strip()
    return text[:1].upper() + text[1:]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _without_null_defaults(schema: Any) -> Any:
    """A request schema without ``"default": null``: openapi-typescript types a property with a
    default as always present, which made every optional field of a request required."""
    if isinstance(schema, dict):
        return {
            k: _without_null_defaults(v)
            for k, v in schema.items()
            if not (k == "default" and v is None)
        }
    if isinstance(schema, list):
        return [_without_null_defaults(v) for v in schema]
    return schema


def _error_schema(codes: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": _ref(api_models.ErrorDetail)},
                },
            }
        },
    }


def _headers(status: int, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    names = ["Cache-Control", *_HEADERS_BY_STATUS.get(status, []), *extra]
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _form_schema(spec: Endpoint) -> dict[str, Any]:
    assert spec.form is not None
    form: dict[str, Any] = _without_null_defaults(spec.form.model_json_schema())
    for file_part in spec.files:
        form["properties"][file_part] = {
            "type": "string",
            "format": "binary",
            "contentMediaType": "application/octet-stream",
            "description": f"An image ({_IMAGE_TYPES}); the type is read from its content.",
        }
    required = [*form.get("required", []), *spec.required_files]
    if required:
        form["required"] = required
    return form


def _operation(name: str, spec: Endpoint, module: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": name.replace("-", "_"),
        "summary": spec.summary,
        "description": description_of(module),
        "tags": [tag_of(module)],
    }
    if spec.query is not None:
        schema = _without_null_defaults(spec.query.model_json_schema())
        operation["parameters"] = [
            {
                "name": field,
                "in": "query",
                "required": field in schema.get("required", []),
                "description": prop.get("description", prop.get("title", field)),
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
        request_body = operation.setdefault("requestBody", {"required": True, "content": {}})
        request_body["content"]["multipart/form-data"] = {
            "schema": _form_schema(spec),
            "encoding": {part: {"contentType": _IMAGE_TYPES} for part in spec.files},
        }
    if not spec.authenticated:
        operation["security"] = []  # no Firebase token: API Gateway must not ask for one
    success = {"type": "string"} if spec.response is None else _ref(spec.response)
    responses: dict[str, Any] = {
        str(status): {
            "description": _SUCCESS_TEXT.get(status, "Success"),
            "headers": _headers(status, spec.headers),
            "content": {spec.media_type: {"schema": success}},
        }
        for status in spec.successes
    }
    for status, codes in spec.error_codes().items():
        responses[str(status)] = {
            "description": f"{_STATUS_TEXT.get(status, 'Error')}: {', '.join(codes)}",
            "headers": _headers(status),
            "content": {"application/json": {"schema": _error_schema(codes)}},
        }
    operation["responses"] = responses
    return operation


def document() -> dict[str, Any]:
    declared = _declared()
    # ErrorDetail: the items of every error's details (each status has its own schema, whose
    # code is an enum of that operation's codes, so the generic ErrorOut is not needed).
    models: set[type[BaseModel]] = {api_models.ErrorDetail}
    for spec, _ in declared.values():
        if spec.response is not None:
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
    schemas = components.get("$defs", {})
    for model in ordered:
        if issubclass(model, api_models.Request):
            schemas[model.__name__] = _without_null_defaults(schemas[model.__name__])
    used_tags = sorted({tag_of(module) for _, module in declared.values()})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Realm API",
            "version": "1.0.0",
            "description": "The mobile app's API: one function per operation, each at "
            "`/<function-name>`. Every call needs a Firebase ID token. Errors are "
            '`{"error": {"code", "message", "details"}}`; each operation lists, per status, '
            "the codes it can answer. For the app's developers: docs/api.md.",
            "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        },
        "servers": SERVERS,
        "security": [{"firebase": []}],
        "tags": [
            {"name": tag, "description": _TAGS.get(tag, "Other operations.")} for tag in used_tags
        ],
        "paths": {
            f"/{name}": {spec.method.lower(): _operation(name, spec, module)}
            for name, (spec, module) in sorted(declared.items())
        },
        "components": {
            "schemas": schemas,
            "headers": _HEADERS,
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
