"""Derives the API Gateway document (Swagger 2.0) from the app's OpenAPI 3.1 document.

API Gateway only reads Swagger 2.0.  The contract the app is built against stays
``shared/realm/openapi.json`` (generated from the pydantic models); this module turns it into the
*routing and authentication* document the gateway needs:

* every path of the API, mapped by its first segment to the function of that name
  (``/list-parties`` -> ``list-parties``), with an ``x-google-backend`` pointing at the private
  function's URL (``CONSTANT_ADDRESS``: the query string is kept, the path is not);
* Firebase Authentication as the only security definition, required on every operation, so the
  gateway rejects a request without a valid Firebase ID token before it reaches a function;
  the one exception is an operation the OpenAPI document declares with ``security: []`` (the
  calendar feed, which calendar apps fetch with a secret in its URL instead of a token), which
  keeps ``security: []`` here and so is routed without a token check;
* query parameters and content types, kept for documentation; request and response schemas are
  dropped, because the gateway does not validate them and JSON Schema 2020-12 (``anyOf``, ``null``)
  has no faithful Swagger 2.0 form.

The output is a terraform ``templatefile`` template (``dist/gateway/openapi2.json.tftpl``):
function URLs and the project id are placeholders filled in by terraform once the functions
exist, and any literal ``${`` / ``%{`` from the source document is escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

TEMPLATE_NAME = "openapi2.json.tftpl"
# Functions that are never reachable through the public entry point.
INTERNAL_FUNCTIONS = frozenset({"relay-outbox", "send-reminders"})
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
BACKEND_DEADLINE_SECONDS = 60.0
FIREBASE_JWKS = (
    "https://www.googleapis.com/service_accounts/v1/metadata/x509/"
    "securetoken@system.gserviceaccount.com"
)
_SIMPLE_TYPES = frozenset({"string", "integer", "number", "boolean", "array"})
_PROJECT = "@@PROJECT_ID@@"
_BACKEND = "@@BACKEND:{}@@"


class GatewayError(ValueError):
    """The OpenAPI document cannot be mapped onto the deployed functions."""


def function_for_path(path: str) -> str:
    first = path.strip("/").split("/")[0]
    return first.replace("_", "-")


def _param_type(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A Swagger 2.0 non-body parameter's type fields from a JSON Schema."""
    options: list[Mapping[str, Any]] = [schema]
    for key in ("anyOf", "oneOf"):
        options += [s for s in schema.get(key, ()) if isinstance(s, Mapping)]
    for option in options:
        kind = option.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if isinstance(kind, str) and kind in _SIMPLE_TYPES:
            out: dict[str, Any] = {"type": kind}
            if kind == "array":
                items = option.get("items")
                item_type = _param_type(items)["type"] if isinstance(items, Mapping) else "string"
                out["items"] = {"type": item_type if item_type != "array" else "string"}
            if isinstance(option.get("enum"), list):
                out["enum"] = list(option["enum"])
            return out
    return {"type": "string"}


def _operation_id(raw: object, method: str, path: str, taken: set[str]) -> str:
    base = raw if isinstance(raw, str) and raw else f"{method}_{path}"
    candidate = re.sub(r"[^A-Za-z0-9_]", "_", base).strip("_") or "operation"
    unique, n = candidate, 2
    while unique in taken:
        unique, n = f"{candidate}_{n}", n + 1
    taken.add(unique)
    return unique


def _operation(
    op: Mapping[str, Any], method: str, path: str, function: str, taken: set[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": _operation_id(op.get("operationId"), method, path, taken)}
    if op.get("security") == []:
        out["security"] = []  # overrides the document's Firebase requirement for this one
    for key in ("summary", "description"):
        if isinstance(op.get(key), str):
            out[key] = op[key]
    params = []
    for param in op.get("parameters", ()):
        where = param.get("in")
        if where not in ("query", "path", "header") or "$ref" in param:
            continue
        if where == "header" and str(param.get("name", "")).lower() == "authorization":
            continue  # carried by the security definition
        item: dict[str, Any] = {
            "name": param["name"],
            "in": where,
            "required": bool(param.get("required", where == "path")),
        }
        if isinstance(param.get("description"), str):
            item["description"] = param["description"]
        item.update(_param_type(param.get("schema", {})))
        params.append(item)
    if params:
        out["parameters"] = params
    body = op.get("requestBody")
    if isinstance(body, Mapping) and isinstance(body.get("content"), Mapping):
        out["consumes"] = sorted(body["content"])
    responses: dict[str, Any] = {}
    for code, response in sorted(op.get("responses", {}).items()):
        description = response.get("description") if isinstance(response, Mapping) else None
        responses[str(code)] = {"description": description or str(code)}
    out["responses"] = responses or {"default": {"description": "response"}}
    out["x-google-backend"] = {
        "address": _BACKEND.format(function),
        "path_translation": "CONSTANT_ADDRESS",
        "deadline": BACKEND_DEADLINE_SECONDS,
    }
    return out


def swagger2(openapi: Mapping[str, Any], functions: Iterable[str]) -> dict[str, Any]:
    """The Swagger 2.0 document, with placeholders for the project id and function URLs."""
    known = set(functions)
    version = str(openapi.get("openapi", ""))
    if not version.startswith("3."):
        raise GatewayError(f"expected an OpenAPI 3.x document, got openapi={version!r}")
    info = openapi.get("info", {})
    paths: dict[str, Any] = {}
    taken: set[str] = set()
    for path, item in sorted(openapi.get("paths", {}).items()):
        function = function_for_path(path)
        if function in INTERNAL_FUNCTIONS:
            continue
        if function not in known:
            raise GatewayError(
                f"path {path} maps to function {function!r}, which is not in functions/ "
                f"(known: {', '.join(sorted(known))})"
            )
        ops = {
            method: _operation(item[method], method, path, function, taken)
            for method in HTTP_METHODS
            if isinstance(item.get(method), Mapping)
        }
        if ops:
            paths[path] = ops
    if not paths:
        raise GatewayError("the OpenAPI document has no path that maps to a public function")
    return {
        "swagger": "2.0",
        "info": {
            "title": str(info.get("title") or "realm"),
            "version": str(info.get("version") or "0"),
            "description": "Public entry point of the Realm app. Generated by deploy/gateway.py "
            "from shared/realm/openapi.json; do not edit.",
        },
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {
            "firebase": {
                "type": "oauth2",
                "flow": "implicit",
                "authorizationUrl": "",
                "x-google-issuer": f"https://securetoken.google.com/{_PROJECT}",
                "x-google-jwks_uri": FIREBASE_JWKS,
                "x-google-audiences": _PROJECT,
            }
        },
        "security": [{"firebase": []}],
        "paths": paths,
    }


def gateway_template(openapi: Mapping[str, Any], functions: Iterable[str]) -> str:
    """The terraform template text: ``templatefile(path, {project_id, backends})``."""
    text = json.dumps(swagger2(openapi, functions), indent=2, sort_keys=True) + "\n"
    text = text.replace("${", "$${").replace("%{", "%%{")
    text = text.replace(_PROJECT, "${project_id}")
    return re.sub(r"@@BACKEND:([a-z0-9-]+)@@", r'${backends["\1"]}', text)


def render(template: str, project_id: str, backends: Mapping[str, str]) -> str:
    """What terraform's templatefile makes of the template (for tests and dry runs)."""

    def backend(match: re.Match[str]) -> str:
        return backends[match.group(1)]

    text = re.sub(r'(?<!\$)\$\{backends\["([a-z0-9-]+)"\]\}', backend, template)
    text = re.sub(r"(?<!\$)\$\{project_id\}", project_id, text)
    return text.replace("$${", "${").replace("%%{", "%{")
