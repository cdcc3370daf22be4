"""Handles over HTTP: chosen at sign-up or made from the name, shown by me and on parties."""

from __future__ import annotations

import pytest

from tests.e2e.flows import Person
from tests.helpers import Client, Reply, count, multipart, token, uid


def _signup(api: Client, **fields: str) -> tuple[str, Reply]:
    auth_uid = uid("handle")
    body, content_type = multipart(
        {"display_name": "Zoë", "email": f"{auth_uid}@example.test", **fields}
    )
    reply = api.post(
        "/signup", auth=token(auth_uid), data=body, headers={"Content-Type": content_type}
    )
    return auth_uid, reply


def test_a_chosen_handle_is_kept_in_lower_case_and_shown_by_me(api: Client) -> None:
    wanted = f"Zoe.{uid('m')[-6:]}"
    auth_uid, reply = _signup(api, handle=wanted)

    assert reply.status == 201, reply
    me = api.get("/me", auth=token(auth_uid))
    assert me.body["handle"] == wanted.lower()


def test_a_taken_handle_is_a_409_and_no_user_is_made(api: Client) -> None:
    taken = Person(api, "First").handle
    users_before = count("users")

    _, reply = _signup(api, handle=taken.upper())

    assert reply.status == 409, reply
    assert reply.body["error"]["code"] == "handle_taken"
    assert count("users") == users_before


@pytest.mark.parametrize("bad", ["zoe m", "zoe🎉", "zo", "z" * 500, "..."])
def test_a_handle_of_the_wrong_shape_is_a_422_naming_it(api: Client, bad: str) -> None:
    users_before = count("users")

    _, reply = _signup(api, handle=bad)

    assert reply.status == 422, reply
    assert reply.body["error"]["details"][0]["field"] == "handle"
    assert count("users") == users_before
