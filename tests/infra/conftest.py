"""Shared fixtures of the infrastructure checks: the terraform, parsed offline with python-hcl2."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
FUNCTIONS_DIR = ROOT / "functions"


def unquote(value: Any) -> Any:
    """python-hcl2 >= 5 keeps string literals quoted (and labels); older versions do not."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


class Terraform:
    """Every .tf file of terraform/, merged: resources by (type, name), locals, variables..."""

    def __init__(self, directory: Path) -> None:
        import hcl2

        self.files: dict[str, dict[str, Any]] = {}
        self.texts: dict[str, str] = {}
        for path in sorted(directory.glob("*.tf")):
            text = path.read_text(encoding="utf-8")
            self.texts[path.name] = text
            with path.open(encoding="utf-8") as handle:
                self.files[path.name] = unquote(hcl2.load(handle))
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        self.locals: dict[str, Any] = {}
        self.variables: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        for doc in self.files.values():
            for block in doc.get("resource", []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        self.resources[(rtype, name)] = body
            for block in doc.get("locals", []):
                self.locals.update(block)
            for block in doc.get("variable", []):
                self.variables.update(block)
            for block in doc.get("output", []):
                self.outputs.update(block)

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        assert (rtype, name) in self.resources, f"terraform declares no {rtype}.{name}"
        return self.resources[(rtype, name)]

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {name: body for (t, name), body in self.resources.items() if t == rtype}

    def default(self, variable: str) -> Any:
        return self.variables[variable].get("default")

    @property
    def text(self) -> str:
        return "\n".join(self.texts.values())


@pytest.fixture(scope="session")
def terraform() -> Terraform:
    pytest.importorskip("hcl2", reason="python-hcl2 is a dev dependency: pip install python-hcl2")
    return Terraform(TERRAFORM_DIR)


@pytest.fixture(scope="session")
def functions(terraform: Terraform) -> dict[str, dict[str, Any]]:
    """local.functions: folder name -> deployment settings."""
    declared = terraform.locals["functions"]
    assert isinstance(declared, dict)
    return declared


def function_folders() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS_DIR.glob("*/main.py"))


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block ``name`` of a resource body."""
    found = body.get(name)
    assert isinstance(found, list), f"expected a {name} block, got {found!r}"
    assert len(found) == 1, f"expected one {name} block, got {found!r}"
    inner = found[0]
    assert isinstance(inner, dict)
    return inner


def references(expression: Any) -> Iterator[str]:
    """Every ``type.name`` referenced in an expression string."""
    yield from re.findall(r"\b(google[_a-z0-9]+\.[a-z0-9_]+)", str(expression))
