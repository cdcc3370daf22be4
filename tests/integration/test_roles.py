"""Who someone is to a party."""

from __future__ import annotations

import pytest

from realm import db, errors
from realm.hosting import roles
from tests.helpers import add_invite, add_party, add_user, in_hours


def test_the_host_the_invited_and_everyone_else(tx: db.Tx) -> None:
    host, guest, stranger = add_user(tx), add_user(tx), add_user(tx)
    party = add_party(tx, host, in_hours(24))
    add_invite(tx, party, guest)

    assert roles.role_of(tx, party, host) == "host"
    assert roles.role_of(tx, party, guest) == "guest"
    assert roles.role_of(tx, party, stranger) is None
    assert roles.role_of(tx, party + 1000, host) is None


def test_only_managers_pass_and_strangers_learn_nothing(tx: db.Tx) -> None:
    host, guest, stranger = add_user(tx), add_user(tx), add_user(tx)
    party = add_party(tx, host, in_hours(24))
    add_invite(tx, party, guest)

    assert roles.require_manager(tx, party, host) == "host"
    with pytest.raises(errors.NotHost):
        roles.require_manager(tx, party, guest)
    with pytest.raises(errors.PartyNotFound):
        roles.require_manager(tx, party, stranger)
    with pytest.raises(errors.PartyNotFound):
        roles.require_manager(tx, party + 1000, stranger)
