"""The Django yardstick: Django + Django REST framework + psycopg 3, served by gunicorn with one
worker of 8 threads (the functions' own server shape).

    YARDSTICK_PUBLIC_KEY=... DATABASE_URL=... gunicorn bench.yardsticks.django_app:application \
        --workers 1 --threads 8

GET /?view=invited&limit=20[&cursor=...] with a Bearer token: the same page as list-parties,
through a DRF view, its query-parameter and response serializers, and Django's connection
(one per thread, kept open).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import django
from django.conf import settings

_url = urlsplit(os.environ["DATABASE_URL"])
settings.configure(
    DEBUG=False,
    SECRET_KEY=os.urandom(16).hex(),
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["rest_framework"],
    MIDDLEWARE=[],
    USE_TZ=True,
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": (_url.path or "/postgres").lstrip("/"),
            "USER": _url.username or "postgres",
            "PASSWORD": _url.password or "",
            "HOST": _url.hostname or "127.0.0.1",
            "PORT": _url.port or 5432,
            "CONN_MAX_AGE": None,
        }
    },
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "UNAUTHENTICATED_USER": None,
    },
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after settings
from django.db import connection  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework import serializers  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from bench.yardsticks.common import (  # noqa: E402
    LIST_SQL,
    NO_CURSOR,
    Tokens,
    decode_cursor,
    encode_cursor,
)

SQL = LIST_SQL.format(
    uid="%(uid)s",
    status="%(status)s",
    after_start="%(after_start)s",
    after_id="%(after_id)s",
    limit="%(limit)s",
)
tokens = Tokens()


class ListQuery(serializers.Serializer[Any]):
    view = serializers.ChoiceField(["invited", "confirmed"])
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    cursor = serializers.CharField(max_length=200, required=False)


class PhotoSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    status = serializers.CharField()
    urls = serializers.DictField(allow_null=True)


class UserSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    handle = serializers.CharField()
    display_name = serializers.CharField()
    photo = PhotoSerializer(allow_null=True)


class PartySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    flat = serializers.CharField()
    title = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_null=True)
    capacity = serializers.IntegerField(allow_null=True)
    first_entry = serializers.DateTimeField()
    last_entry = serializers.DateTimeField()
    host = UserSummarySerializer()
    invite_status = serializers.CharField(allow_null=True)


class PartyPageSerializer(serializers.Serializer[Any]):
    parties = PartySerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class ListParties(APIView):
    def get(self, request: Request) -> Response:
        uid = tokens.uid(request.headers.get("Authorization"))
        if uid is None:
            return Response({"error": "invalid token"}, status=401)
        query = ListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit = query.validated_data["limit"]
        cursor = query.validated_data.get("cursor")
        after_start, after_id = decode_cursor(cursor) if cursor else NO_CURSOR
        with connection.cursor() as cur:
            cur.execute(
                SQL,
                {
                    "uid": uid,
                    "status": query.validated_data["view"],
                    "after_start": after_start,
                    "after_id": after_id,
                    "limit": limit + 1,
                },
            )
            names = [column.name for column in cur.description]
            rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        parties = [
            {
                **row,
                "host": {
                    "id": row["host_id"],
                    "handle": row["host_handle"],
                    "display_name": row["host_display_name"],
                    "photo": None
                    if row["photo_id"] is None
                    else {"id": row["photo_id"], "status": row["photo_status"], "urls": None},
                },
            }
            for row in rows[:limit]
        ]
        last = parties[-1] if len(rows) > limit else None
        page = {
            "parties": parties,
            "next_cursor": encode_cursor(last["first_entry"], last["id"]) if last else None,
        }
        return Response(PartyPageSerializer(page).data)


urlpatterns = [path("", ListParties.as_view())]
application = get_wsgi_application()
