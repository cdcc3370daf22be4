"""Who someone is to a party."""

from __future__ import annotations

import pytest

from realm import db, errors
from realm.hosting import roles
from tests.helpers import add_cohost, add_invite, add_party, add_user, in_hours


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


def test_only_the_host_passes_require_host_and_strangers_learn_nothing(tx: db.Tx) -> None:
    host, cohost, guest, stranger = add_user(tx), add_user(tx), add_user(tx), add_user(tx)
    party = add_party(tx, host, in_hours(24))
    add_cohost(tx, party, cohost)
    add_invite(tx, party, guest)

    roles.require_host(tx, party, host)
    for not_the_host in (cohost, guest):
        with pytest.raises(errors.NotHost):
            roles.require_host(tx, party, not_the_host)
    with pytest.raises(errors.PartyNotFound):
        roles.require_host(tx, party, stranger)
    with pytest.raises(errors.PartyNotFound):
        roles.require_host(tx, party + 1000, host)
