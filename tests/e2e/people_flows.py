"""The people functions (issue 9) as a person of the end-to-end tests calls them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tests.e2e.flows import Person
from tests.helpers import Reply


class Member(Person):
    def update_profile(self, **fields: Any) -> Reply:
        return self.api.post("/update-profile", auth=self.token, json_body=fields)

    def find(self, q: str, **params: Any) -> Reply:
        return self.api.get(f"/find-users?{urlencode({'q': q, **params})}", auth=self.token)

    def found(self, q: str) -> list[str]:
        reply = self.find(q)
        assert reply.status == 200, reply
        return [user["handle"] for user in reply.body["users"]]

    def match_contacts(self, phones: list[str]) -> Reply:
        return self.api.post("/match-contacts", auth=self.token, json_body={"phones": phones})

    def invite_by_handle(self, party_id: int, handle: str) -> Reply:
        return self.api.post(
            "/create-invite", auth=self.token, json_body={"party_id": party_id, "handle": handle}
        )

    def create_link(self, party_id: int, **options: Any) -> Reply:
        return self.api.post(
            "/create-invite-link", auth=self.token, json_body={"party_id": party_id, **options}
        )

    def join(self, token: Any) -> Reply:
        return self.api.post("/join-party", auth=self.token, json_body={"token": token})

    def revoke_link(self, link_id: int) -> Reply:
        return self.api.post("/revoke-invite-link", auth=self.token, json_body={"link_id": link_id})

    def block(self, user: Member | int) -> Reply:
        user_id = user if isinstance(user, int) else user.id
        return self.api.post("/block-user", auth=self.token, json_body={"user_id": user_id})

    def unblock(self, user: Member | int) -> Reply:
        user_id = user if isinstance(user, int) else user.id
        return self.api.post("/unblock-user", auth=self.token, json_body={"user_id": user_id})
