"""update-profile against PostgreSQL: partial, and a handle stays unique."""

from __future__ import annotations

import pytest

from realm import errors
from realm.db import Tx
from realm.people import users
from tests.helpers import add_user


def test_a_new_user_is_not_discoverable_by_phone(tx: Tx) -> None:
    add_user(tx, "uid-me")

    assert users.me(tx, "uid-me").discoverable_by_phone is False


def test_only_the_fields_given_change(tx: Tx) -> None:
    add_user(tx, "uid-me", "Old Name")
    users.update(tx, "uid-me", {"phone": "+4915112345678", "discoverable_by_phone": True})

    updated = users.update(tx, "uid-me", {"display_name": "New Name"})

    assert (updated.display_name, updated.handle) == ("New Name", "uid_me")
    assert (updated.phone, updated.discoverable_by_phone) == ("+4915112345678", True)


def test_a_phone_set_to_none_is_removed(tx: Tx) -> None:
    add_user(tx, "uid-me")
    users.update(tx, "uid-me", {"phone": "+4915112345678"})

    assert users.update(tx, "uid-me", {"phone": None}).phone is None


def test_nothing_to_change_changes_nothing(tx: Tx) -> None:
    add_user(tx, "uid-me", "Same")

    assert users.update(tx, "uid-me", {}).display_name == "Same"


def test_a_handle_that_belongs_to_someone_else_is_taken(tx: Tx) -> None:
    add_user(tx, "uid-me")
    add_user(tx, "uid-other")

    with pytest.raises(errors.HandleTaken):
        users.update(tx, "uid-me", {"handle": "uid_other"})


def test_keeping_ones_own_handle_is_no_clash(tx: Tx) -> None:
    add_user(tx, "uid-me")

    assert users.update(tx, "uid-me", {"handle": "uid_me"}).handle == "uid_me"


def test_a_caller_who_never_signed_up_is_asked_to(tx: Tx) -> None:
    with pytest.raises(errors.SignupRequired):
        users.update(tx, "uid-nobody", {"display_name": "X"})
