"""The async yardstick: FastAPI + asyncpg, served by uvicorn with uvloop and httptools.

    YARDSTICK_PUBLIC_KEY=... DATABASE_URL=... uvicorn bench.yardsticks.fastapi_app:app \
        --loop uvloop --http httptools --no-access-log

GET /?view=invited&limit=20[&cursor=...] with a Bearer token: the caller's page of upcoming
parties, with pydantic response models, as FastAPI's documentation writes such a service.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import FastAPI, Header, HTTPException, Query
from pydantic import BaseModel

from bench.yardsticks.common import LIST_SQL, NO_CURSOR, Tokens, decode_cursor, encode_cursor

SQL = LIST_SQL.format(uid="$1", status="$2", after_start="$3", after_id="$4", limit="$5")


class PhotoOut(BaseModel):
    id: UUID
    status: str
    urls: dict[str, str] | None


class UserSummaryOut(BaseModel):
    id: int
    handle: str
    display_name: str
    photo: PhotoOut | None


class PartyOut(BaseModel):
    id: int
    flat: str
    title: str | None
    description: str | None
    capacity: int | None
    first_entry: datetime
    last_entry: datetime
    host: UserSummaryOut
    invite_status: str | None


class PartyPageOut(BaseModel):
    parties: list[PartyOut]
    next_cursor: str | None


state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    state["pool"] = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=8)
    state["tokens"] = Tokens()
    yield
    await state["pool"].close()


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def list_parties(
    view: Literal["invited", "confirmed"],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> PartyPageOut:
    uid = state["tokens"].uid(authorization)
    if uid is None:
        raise HTTPException(401, "invalid token")
    after_start, after_id = decode_cursor(cursor) if cursor else NO_CURSOR
    rows = await state["pool"].fetch(SQL, uid, view, after_start, after_id, limit + 1)
    parties = [
        PartyOut(
            id=row["id"],
            flat=row["flat"],
            title=row["title"],
            description=row["description"],
            capacity=row["capacity"],
            first_entry=row["first_entry"],
            last_entry=row["last_entry"],
            host=UserSummaryOut(
                id=row["host_id"],
                handle=row["host_handle"],
                display_name=row["host_display_name"],
                photo=None
                if row["photo_id"] is None
                else PhotoOut(id=row["photo_id"], status=row["photo_status"], urls=None),
            ),
            invite_status=row["invite_status"],
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    last = parties[-1] if more else None
    return PartyPageOut(
        parties=parties,
        next_cursor=encode_cursor(last.first_entry, last.id) if last else None,
    )
