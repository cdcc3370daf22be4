"""A Python client generated from the committed OpenAPI document by openapi-python-client (a
dev dependency) imports, and talks to the local server: the document is enough to build a
working client, not just a valid one."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.e2e.flows import Person
from tests.helpers import Client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("python-client") / "realm_api_client"
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(ROOT / "shared" / "realm" / "openapi.json"),
            "--config",
            str(ROOT / "clients" / "python" / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(out.parent))
    try:
        yield importlib.import_module("realm_api_client")
    finally:
        sys.path.remove(str(out.parent))
        for name in [m for m in sys.modules if m.startswith("realm_api_client")]:
            del sys.modules[name]


def test_the_generated_python_client_reads_me_from_the_local_server(
    generated: ModuleType, api: Client, server: str
) -> None:
    person = Person(api, "Py Client")
    me = importlib.import_module("realm_api_client.api.people.me")
    models = importlib.import_module("realm_api_client.models")

    client = generated.AuthenticatedClient(base_url=server, token=person.token)
    with client:
        answer = me.sync_detailed(client=client)
    assert answer.status_code == 200
    assert isinstance(answer.parsed, models.UserOut)
    assert answer.parsed.id == person.id
    assert answer.parsed.handle == person.handle

    anonymous = generated.Client(base_url=server)
    with anonymous:
        refused = me.sync_detailed(client=anonymous)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.MeResponse401)
    assert refused.parsed.error.code.value == "unauthenticated"
