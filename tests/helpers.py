"""Arranging data and calling the API in tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from realm import db
from realm.config import settings
from realm.devstack import tokens
from tests import contract

# The demo- project the Auth emulator of the test run serves (tests/conftest.py).
AUTH_EMULATOR_PROJECT = "demo-realm-test"


def uid(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def token(auth_uid: str, **overrides: Any) -> str:
    return tokens.mint(settings, auth_uid, **overrides)


def now() -> datetime:
    return datetime.now(UTC)


def in_hours(hours: float) -> datetime:
    return now() + timedelta(hours=hours)


def add_user(tx: db.Tx, auth_uid: str | None = None, name: str = "Someone") -> int:
    auth_uid = auth_uid or uid()
    return int(
        tx.scalar(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " VALUES (:u, :h, :n, :e) RETURNING id",
            u=auth_uid,
            h=auth_uid.replace("-", "_")[:30],
            n=name,
            e=f"{auth_uid}@example.test",
        )
    )


def add_party(
    tx: db.Tx,
    host_id: int,
    first_entry: datetime,
    flat: str = "FLAT",
    cancelled: bool = False,
    capacity: int | None = None,
    max_plus_ones: int = 0,
) -> int:
    return int(
        tx.scalar(
            "INSERT INTO parties (host_id, flat, first_entry, cancelled_at, capacity,"
            " max_plus_ones)"
            " VALUES (:h, :f, :s, CASE WHEN :c THEN now() END, :cap, :plus) RETURNING id",
            h=host_id,
            f=flat,
            s=first_entry,
            c=cancelled,
            cap=capacity,
            plus=max_plus_ones,
        )
    )


def add_invite(
    tx: db.Tx, party_id: int, guest_id: int, status: str = "invited", plus_ones: int = 0
) -> int:
    return int(
        tx.scalar(
            "INSERT INTO invites (party_id, party_first_entry, guest_id, status, plus_ones)"
            " SELECT id, first_entry, :g, :s, :n FROM parties WHERE id = :p RETURNING id",
            p=party_id,
            g=guest_id,
            s=status,
            n=plus_ones,
        )
    )


def add_cohost(tx: db.Tx, party_id: int, user_id: int) -> None:
    tx.execute(
        "INSERT INTO party_hosts (party_id, party_first_entry, user_id, role)"
        " SELECT id, first_entry, :u, 'cohost' FROM parties WHERE id = :p",
        p=party_id,
        u=user_id,
    )


def count(table: str) -> int:
    assert table.isidentifier()
    with db.transaction() as tx:
        return int(tx.scalar(f"SELECT count(*) FROM {table}"))


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error_code(self) -> str:
        return str(self.body["error"]["code"])


class Client:
    """A small HTTP client for the local server (no dependency beyond the standard library)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(
        self,
        method: str,
        path: str,
        *,
        auth: str | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        all_headers = dict(headers or {})
        if auth is not None:
            all_headers["Authorization"] = auth if auth.startswith("Bearer") else f"Bearer {auth}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw, status, reply_headers = response.read(), response.status, response.headers
        except urllib.error.HTTPError as error:
            raw, status, reply_headers = error.read(), error.code, error.headers
        body = json.loads(raw) if raw and "json" in reply_headers.get("Content-Type", "") else raw
        # The drift guard: an answer the committed OpenAPI document does not promise fails here.
        contract.check(method, path, status, body)
        return Reply(status, body, dict(reply_headers))

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.call("POST", path, **kwargs)


def multipart(
    fields: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, (filename, content, content_type) in (files or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
