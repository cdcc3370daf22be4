"""Arranging users, parties and invites through the API itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.helpers import Client, multipart, token, uid


class Person:
    def __init__(self, api: Client, name: str) -> None:
        self.api = api
        self.auth_uid = uid(name.lower().replace(" ", "-"))
        self.token = token(self.auth_uid)
        body, content_type = multipart(
            {"display_name": name, "email": f"{self.auth_uid}@example.test"}
        )
        reply = api.post(
            "/signup", auth=self.token, data=body, headers={"Content-Type": content_type}
        )
        assert reply.status == 201, reply
        self.id: int = reply.body["id"]
        self.handle: str = reply.body["handle"]

    def create_party(self, first_entry: datetime, flat: str = "FLAT", **extra: Any) -> int:
        reply = self.api.post(
            "/create-party",
            auth=self.token,
            json_body={"flat": flat, "first_entry": first_entry.isoformat(), **extra},
        )
        assert reply.status == 201, reply
        return int(reply.body["id"])

    def invite(self, party_id: int, guest: Person) -> Any:
        return self.api.post(
            "/create-invite",
            auth=self.token,
            json_body={"party_id": party_id, "guest_id": guest.id},
        )

    def respond(self, party_id: int, response: str, plus_ones: int | None = None) -> Any:
        body: dict[str, Any] = {"party_id": party_id, "response": response}
        if plus_ones is not None:
            body["plus_ones"] = plus_ones
        return self.api.post("/respond-invite", auth=self.token, json_body=body)

    def post(self, path: str, **body: Any) -> Any:
        return self.api.post(path, auth=self.token, json_body=body)

    def post_nothing(self, path: str) -> Any:
        """A POST without a body, for the operations that read none (they refuse one)."""
        return self.api.post(path, auth=self.token)

    def get(self, path: str) -> Any:
        return self.api.get(path, auth=self.token)

    def party(self, party_id: int) -> Any:
        return self.get(f"/get-party?party_id={party_id}")

    def guests(self, party_id: int, status: str | None = None) -> Any:
        query = f"party_id={party_id}" + (f"&status={status}" if status else "")
        return self.get(f"/list-guests?{query}")

    def flats(self, view: str) -> list[str]:
        reply = self.api.get(f"/list-parties?view={view}", auth=self.token)
        assert reply.status == 200, reply
        return [party["flat"] for party in reply.body["parties"]]
