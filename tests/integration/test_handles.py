"""Handles at sign-up: chosen or made, unique without regard to case, never failing a sign-up."""

from __future__ import annotations

import pytest

from realm import db, errors
from realm.people import users
from tests.helpers import uid


def _sign_up(name: str, handle: str | None = None) -> users.User:
    auth_uid = uid()
    with db.transaction() as tx:
        return users.sign_up(tx, auth_uid, name, f"{auth_uid}@example.test", None, handle)


def test_a_user_without_a_chosen_handle_gets_one_from_their_name(clean_db: None) -> None:
    assert _sign_up("Zoë Smith").handle == "zoesmith"


def test_a_second_user_with_the_same_name_gets_a_numbered_handle(clean_db: None) -> None:
    first, second, third = (_sign_up("Zoë Smith") for _ in range(3))

    assert first.handle == "zoesmith"
    assert second.handle != third.handle
    assert second.handle.startswith("zoesmith")
    assert second.handle[len("zoesmith") :].isdigit()


def test_a_chosen_handle_that_is_taken_is_refused(clean_db: None) -> None:
    _sign_up("Zoë", "zoe.m")

    with pytest.raises(errors.HandleTaken):
        _sign_up("Someone else", "zoe.m")


def test_a_made_handle_never_takes_a_chosen_one(clean_db: None) -> None:
    chosen = _sign_up("Anyone", "zoesmith")

    made = _sign_up("Zoë Smith")

    assert (chosen.handle, made.handle != "zoesmith") == ("zoesmith", True)


def test_the_database_refuses_a_handle_of_the_wrong_shape(clean_db: None) -> None:
    with pytest.raises(db.DataRejected):
        _sign_up("Zoë", "Zoe M")
