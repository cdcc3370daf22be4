import pytest

from realm.db import Tx
from realm.errors import Conflict, SignupRequired
from realm.people import users
from tests.helpers import add_party, add_user, in_hours


def test_signing_up_creates_a_user_who_is_not_yet_a_host(tx: Tx) -> None:
    user = users.sign_up(tx, "uid-a", "Alice", "alice@example.test", "+4915112345678")
    assert (user.display_name, user.email, user.phone) == (
        "Alice",
        "alice@example.test",
        "+4915112345678",
    )
    assert user.is_host is False
    assert user.photo is None


def test_signing_up_twice_with_one_uid_is_a_conflict(tx: Tx) -> None:
    users.sign_up(tx, "uid-a", "Alice", "alice@example.test", None)
    with pytest.raises(Conflict) as error:
        users.sign_up(tx, "uid-a", "Alice", "other@example.test", None)
    assert error.value.code == "already_signed_up"


def test_an_email_is_unique_whatever_its_case(tx: Tx) -> None:
    users.sign_up(tx, "uid-a", "Alice", "alice@example.test", None)
    with pytest.raises(Conflict) as error:
        users.sign_up(tx, "uid-b", "Alicia", "ALICE@Example.test", None)
    assert error.value.code == "email_taken"


def test_a_user_hosting_a_party_is_a_host(tx: Tx) -> None:
    host = add_user(tx, "uid-h")
    add_party(tx, host, in_hours(24))
    assert users.me(tx, "uid-h").is_host is True


def test_someone_who_never_signed_up_has_no_profile(tx: Tx) -> None:
    with pytest.raises(SignupRequired):
        users.me(tx, "nobody")
