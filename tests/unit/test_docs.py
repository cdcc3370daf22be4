"""The documentation says what the code does: every error code, every operation, every link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from realm import errors
from realm.db import quotas
from realm.devstack import openapi

ROOT = Path(__file__).resolve().parents[2]
API = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
# What the edge answers by itself (realm.edge.http) and the local server's unknown path.
EDGE_CODES = {
    "unauthenticated",
    "invalid_token",
    "method_not_allowed",
    "internal",
    "unavailable",
    "malformed_json",
    "validation_error",
    "invalid_value",
    "payload_too_large",
    "unsupported_media_type",
    "length_required",
    "no_such_function",
}


def test_the_error_table_of_docs_api_lists_every_code_the_api_can_answer() -> None:
    codes = set(errors.catalogue()) | EDGE_CODES
    for spec in openapi.endpoints().values():
        codes.update(code for names in spec.error_codes().values() for code in names)
    missing = sorted(code for code in codes if f"`{code}`" not in API)
    assert not missing, f"docs/api.md's error table lacks {missing}"


def test_the_quota_table_names_every_quota_the_code_spends() -> None:
    table = (ROOT / "docs" / "api" / "reliability.md").read_text(encoding="utf-8")
    missing = sorted(q.action for q in quotas._DEFAULTS if f"| `{q.action}`" not in table)
    assert not missing, f"docs/api/reliability.md's quota table lacks {missing}"


def test_the_readme_names_every_function_and_stays_a_short_map() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    assert readme.lstrip().startswith("# Realm backend\n\n```sh\nmake run")
    for main in sorted(ROOT.glob("functions/*/main.py")):
        assert f"`{main.parent.name.replace('_', '-')}`" in readme, main.parent.name
    assert "../shared" not in readme, "the repository carries its own docs"


DOCUMENTS = [
    "README.md",
    *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("docs/**/*.md")),
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_relative_link_of_the_docs_points_at_a_file_that_exists(document: str) -> None:
    path = ROOT / document
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        assert (path.parent / target).exists(), f"{document} links {target}, which does not exist"


def test_scripts_link_only_docs_that_exist() -> None:
    for script in sorted((ROOT / "deploy").glob("*.sh")):
        for target in re.findall(r"\b((?:docs|deploy)/[\w./-]+\.md)\b", script.read_text()):
            assert (ROOT / target).exists(), f"{script.name} links {target}"
