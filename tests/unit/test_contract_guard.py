"""The drift guard of the end-to-end suite (tests/contract.py) refuses what it should."""

import pytest

from tests import contract


def _error(code: str) -> dict[str, object]:
    return {"error": {"code": code, "message": "m", "details": []}}


def test_a_documented_status_and_code_pass() -> None:
    contract.check("POST", "/create-invite", 409, _error("already_invited"))
    contract.check("POST", "/create-invite", 201, {"id": 1})
    contract.check("GET", "/list-parties?view=invited", 200, {"parties": []})


def test_a_code_the_function_did_not_declare_fails() -> None:
    with pytest.raises(contract.ContractBroken, match="not among its documented codes"):
        contract.check("POST", "/create-invite", 409, _error("email_taken"))


def test_a_status_the_operation_does_not_list_fails() -> None:
    with pytest.raises(contract.ContractBroken, match="does not list"):
        contract.check("GET", "/me", 409, _error("already_invited"))


def test_a_wrong_method_may_only_answer_405() -> None:
    contract.check("GET", "/create-party", 405, _error("method_not_allowed"))
    with pytest.raises(contract.ContractBroken):
        contract.check("GET", "/create-party", 200, {})


def test_paths_outside_the_document_are_not_the_apps_contract() -> None:
    contract.check("GET", "/media/photos/1/x.webp", 200, b"")
    contract.check("POST", "/relay-outbox", 503, {})
