from typing import Literal

import pytest

from realm import db
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


def _modes_refused_meanwhile(auth_uid: str) -> list[str]:
    """The row locks another transaction cannot take on the user's row right now."""
    refused = []
    for mode in ("FOR KEY SHARE", "FOR SHARE"):
        failure = ""
        try:
            with db.transaction() as other:
                other.scalar(
                    f"SELECT id FROM users WHERE auth_uid = :uid {mode} NOWAIT", uid=auth_uid
                )
        except Exception as error:
            failure = str(error)
        if failure:
            assert "55P03" in failure, failure  # lock_not_available, and nothing else
            refused.append(mode)
    return refused


@pytest.mark.usefixtures("clean_db")
@pytest.mark.parametrize(
    ("lock", "refused"),
    [
        (None, []),
        # Others may still take a key-share lock: an insert naming the user (a foreign key
        # check) is not held up.
        ("FOR NO KEY UPDATE", ["FOR SHARE"]),
        ("FOR UPDATE", ["FOR KEY SHARE", "FOR SHARE"]),
    ],
)
def test_id_for_locks_the_callers_row_in_the_mode_asked(
    lock: Literal["FOR UPDATE", "FOR NO KEY UPDATE"] | None, refused: list[str]
) -> None:
    with db.transaction() as tx:
        user_id = add_user(tx, "uid-locked")

    with db.transaction() as tx:
        assert users.id_for(tx, "uid-locked", lock=lock) == user_id
        assert _modes_refused_meanwhile("uid-locked") == refused

    assert _modes_refused_meanwhile("uid-locked") == []
