"""The HTTP API's request and response models: the mobile app's contract.

The OpenAPI document (``shared/realm/openapi.json``) is generated from these and from each
function's ``@endpoint`` declaration; a test fails when the committed copy is stale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from realm import text
from realm.people import handles

# Text people type, shown to others (realm.text): one line, or paragraphs for a description.
# Stripped first, so that the length bounds of each field apply to what is kept.
Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(text.line)]
Paragraphs = Annotated[
    str, StringConstraints(strip_whitespace=True), AfterValidator(text.paragraphs)
]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


# defer_build: a function builds the validators of the few models it uses, on first use,
# instead of every model of the API at import (most of this module's import time otherwise).


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True, defer_build=True)


# --- requests -------------------------------------------------------------------------------


Handle = Annotated[
    str,
    Field(
        pattern=handles.PATTERN,
        description="3-30 letters, digits, '_' or '.'; unique without regard to case, "
        "and stored (and shown) in lower case.",
        examples=["zoe.m"],
    ),
    AfterValidator(handles.canonical),
]


class SignupForm(Request):
    display_name: Annotated[Text, Field(min_length=1, max_length=80)]
    handle: Annotated[
        Handle | None,
        Field(default=None, description="Made from the display name when not given."),
    ]
    email: Annotated[
        Text,
        Field(
            max_length=254,
            pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            description="Unique across users, compared without regard to case.",
        ),
    ]
    phone: Annotated[
        Text | None,
        Field(
            default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164, e.g. +4915112345678"
        ),
    ]


class CreatePartyRequest(Request):
    flat: Annotated[Text, Field(min_length=1, max_length=64, examples=["FUTUREPARTY1"])]
    first_entry: Annotated[
        AwareDatetime,
        Field(
            description="ISO 8601 with a UTC offset. Last entry is 12 hours later.",
            # A sanity range; the rules (not over, at most two years ahead) are the domain's.
            gt=datetime(2000, 1, 1, tzinfo=UTC),
            lt=datetime(2999, 1, 1, tzinfo=UTC),
        ),
    ]
    title: Annotated[Text | None, Field(default=None, max_length=120)]
    description: Annotated[Paragraphs | None, Field(default=None, max_length=2000)]
    capacity: Annotated[int | None, Field(default=None, ge=1, le=10000)]


class CreateInviteRequest(Request):
    party_id: Id
    guest_id: Id


class RespondInviteRequest(Request):
    party_id: Id
    response: Literal["confirmed", "declined"]


class ListPartiesQuery(Request):
    view: Literal["invited", "confirmed", "hosting"]
    limit: Annotated[int, Field(default=20, ge=1, le=100)]
    cursor: Annotated[str | None, Field(default=None, max_length=200)]


class PhotoUploadRequest(Request):
    image_base64: Annotated[
        str, Field(min_length=1, description="The image, base64; a data: URL prefix is accepted")
    ]
    content_type: Annotated[
        str | None,
        Field(default=None, description="Informational: the type is read from the content."),
    ]


class PhotoUploadForm(Request):
    """The multipart form of photo-upload: just the ``photo`` file part."""


# --- responses ------------------------------------------------------------------------------


class PhotoOut(Response):
    id: UUID
    status: Literal["processing", "ready", "rejected"]
    urls: Annotated[
        dict[str, str] | None,
        Field(
            default=None,
            description="When ready: 'display', '512' and '128' image URLs, "
            "time-limited in the cloud.",
        ),
    ]


class UserSummaryOut(Response):
    """Another user, as the app shows them: never their email or phone."""

    id: int
    handle: str
    display_name: str
    photo: PhotoOut | None


class PartyOut(Response):
    id: int
    flat: str
    title: str | None
    description: str | None
    capacity: int | None
    first_entry: datetime
    last_entry: datetime
    host: UserSummaryOut
    invite_status: Annotated[
        Literal["invited", "confirmed", "declined"] | None,
        Field(description="The caller's answer, on the invited and confirmed views."),
    ]


class PartyPageOut(Response):
    parties: list[PartyOut]
    next_cursor: Annotated[str | None, Field(description="Pass as `cursor` for the next page.")]


class UserOut(Response):
    id: int
    handle: str
    display_name: str
    email: str
    phone: str | None
    is_host: bool
    photo: PhotoOut | None
    created_at: datetime


class InviteOut(Response):
    id: int
    party_id: int
    guest_id: int
    status: Literal["invited", "confirmed", "declined"]
    created_at: datetime
    responded_at: datetime | None


class PhotoAcceptedOut(Response):
    photo_id: UUID
    status: Literal["processing"]


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    code: Annotated[str, Field(examples=["validation_error"])]
    message: str
    details: list[dict[str, Any]]


class ErrorOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    error: ErrorBody


# --- accounts and devices (issue 10, DESIGN §13) ------------------------------------------------

# An FCM registration token as the app gets it from the Firebase SDK: printable ASCII without
# spaces (FCM's are about 150-250 characters; the bound leaves room for any it may make).
DeviceToken = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        pattern=r"^[\x21-\x7e]+$",
        description="The FCM registration token (Firebase Messaging getToken()).",
    ),
]
NotificationId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", description="A notification's id.")
]


class RegisterDeviceRequest(Request):
    token: DeviceToken
    platform: Literal["ios", "android", "web"]


class UnregisterDeviceRequest(Request):
    token: DeviceToken


class MarkNotificationsReadRequest(Request):
    """Exactly one of ``ids`` and ``all``."""

    ids: Annotated[
        list[NotificationId] | None,
        Field(default=None, min_length=1, max_length=500, description="1-500 ids."),
    ]
    all: Annotated[
        Literal[True] | None, Field(default=None, description="Every notification of yours.")
    ]

    @model_validator(mode="after")
    def _exactly_one(self) -> MarkNotificationsReadRequest:
        if (self.ids is None) == (self.all is None):
            raise ValueError("send either 'ids' or 'all': true, not both and not neither")
        return self


class DeviceOut(Response):
    platform: Literal["ios", "android", "web"]
    registered_at: datetime


class DeviceRemovedOut(Response):
    removed: Annotated[
        bool, Field(description="Whether a device of yours had this token (false when not).")
    ]


class NotificationsReadOut(Response):
    updated: Annotated[
        int, Field(description="How many of the notifications were unread and now are read.")
    ]
