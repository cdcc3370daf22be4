"""Who someone is to a party."""

from __future__ import annotations

import pytest

from realm import db, errors
from realm.hosting import roles
from tests.helpers import add_cohost, add_invite, add_party, add_user, in_hours

WHO = ("host", "cohost", "guest", "stranger")  # each one's auth uid in the tests below


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

    assert roles.as_manager(roles.role_of(tx, party, host)) == "host"
    with pytest.raises(errors.NotHost):
        roles.as_manager(roles.role_of(tx, party, guest))
    with pytest.raises(errors.PartyNotFound):
        roles.as_manager(roles.role_of(tx, party, stranger))
    with pytest.raises(errors.PartyNotFound):
        roles.as_manager(roles.role_of(tx, party + 1000, stranger))


def test_only_the_host_passes_as_host_and_strangers_learn_nothing(tx: db.Tx) -> None:
    # The stranger signed up too: they are told PartyNotFound, not SignupRequired.
    host, cohost, guest, _stranger = (add_user(tx, name) for name in WHO)
    party = add_party(tx, host, in_hours(24))
    add_cohost(tx, party, cohost)
    add_invite(tx, party, guest)

    roles.as_host(roles.caller(tx, "host", party).role)
    for not_the_host in ("cohost", "guest"):
        with pytest.raises(errors.NotHost):
            roles.as_host(roles.caller(tx, not_the_host, party).role)
    with pytest.raises(errors.PartyNotFound):
        roles.as_host(roles.caller(tx, "stranger", party).role)
    with pytest.raises(errors.PartyNotFound):
        roles.as_host(roles.caller(tx, "host", party + 1000).role)


def test_the_caller_their_name_and_their_role_in_one_statement(tx: db.Tx) -> None:
    ids = {name: add_user(tx, name, name.title()) for name in WHO}
    party = add_party(tx, ids["host"], in_hours(24))
    add_cohost(tx, party, ids["cohost"])
    add_invite(tx, party, ids["guest"])
    add_invite(tx, party, ids["cohost"])  # a co-host who is also invited is a co-host

    expected: tuple[roles.Role | None, ...] = ("host", "cohost", "guest", None)
    for name, role in zip(WHO, expected, strict=True):
        assert roles.caller(tx, name, party) == roles.Caller(ids[name], name.title(), role)
    assert roles.caller(tx, "host", party + 1000).role is None
    with pytest.raises(errors.SignupRequired):
        roles.caller(tx, "never-signed-up", party)
