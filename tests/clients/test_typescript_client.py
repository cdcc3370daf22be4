"""The OpenAPI document, read as an app's developer reads it: linted by Redocly under its
recommended rules, turned into TypeScript types by openapi-typescript, and a sample client
(clients/typescript/sample.ts) using every operation through openapi-fetch type-checked with
`tsc --strict`, while a misuse (clients/typescript/misuse.ts) must fail to type-check."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import ROOT, node_tool

DOCUMENT = ROOT / "shared" / "realm" / "openapi.json"
TYPESCRIPT = ROOT / "clients" / "typescript"


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_redocly_finds_no_error_and_no_warning_under_its_recommended_rules() -> None:
    redocly = node_tool("redocly")
    result = _run(redocly, "lint", "--config", ROOT / "redocly.yaml", "--format=json", DOCUMENT)
    report = json.loads(result.stdout)
    problems = [f"{p['ruleId']}: {p['message']}" for p in report["problems"]]
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, problems


@pytest.fixture(scope="module")
def generated_types() -> Path:
    node_tool("openapi-typescript")
    output = TYPESCRIPT / ".generated" / "api.d.ts"
    result = _run("node", TYPESCRIPT / "generate.mjs", DOCUMENT, output)
    assert result.returncode == 0, result.stderr
    return output


def test_the_generated_types_make_optional_request_fields_optional_and_the_photo_a_blob(
    generated_types: Path,
) -> None:
    text = generated_types.read_text(encoding="utf-8")
    party = re.search(r"CreatePartyRequest: \{(.*?)\n        \};", text, re.S)
    assert party is not None
    assert re.search(r"\btitle\?: string \| null;", party.group(1))
    assert re.search(r"\bflat: string;", party.group(1))
    assert "photo: Blob;" in text  # photo-upload's multipart form: required, a file
    assert "photo?: Blob;" in text  # signup's: optional


def test_the_sample_client_of_every_operation_type_checks_under_strict(
    generated_types: Path,
) -> None:
    tsc = node_tool("tsc")
    sample = (TYPESCRIPT / "sample.ts").read_text(encoding="utf-8")
    for path in json.loads(DOCUMENT.read_text(encoding="utf-8"))["paths"]:
        assert f'"{path}"' in sample, f"clients/typescript/sample.ts does not use {path}"
    # Each deliberate misuse in it is marked, so tsc fails if one of them ever compiles.
    assert sample.count("@ts-expect-error") >= 5
    result = _run(tsc, "-p", TYPESCRIPT / "tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_comparing_an_error_code_the_operation_cannot_answer_fails_to_type_check(
    generated_types: Path,
) -> None:
    tsc = node_tool("tsc")
    result = _run(tsc, "-p", TYPESCRIPT / "tsconfig.misuse.json")
    assert result.returncode != 0
    assert "error TS2367" in result.stdout, result.stdout
    assert '"email_taken"' in result.stdout
