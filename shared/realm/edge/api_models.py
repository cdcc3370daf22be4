"""The HTTP API's request and response models: the mobile app's contract.

The OpenAPI document (``shared/realm/openapi.json``) is generated from these and from each
function's ``@endpoint`` declaration; a test fails when the committed copy is stale.
"""

# No `from __future__ import annotations` here: with it, pydantic compiles and evaluates each
# field's annotation from its text as the model is defined, nearly a third of this module's
# import time, which every cold start pays (docs/decisions/0062).

import os
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from realm import text
from realm.people import handles, phones

# Text people type, shown to others (realm.text): one line, or paragraphs for a description.
# Stripped first, so that the length bounds of each field apply to what is kept.
Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(text.line)]
Paragraphs = Annotated[
    str, StringConstraints(strip_whitespace=True), AfterValidator(text.paragraphs)
]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
# A guest's answer to an invitation (invites.status), wherever the API shows or filters by it.
GuestStatus = Literal["invited", "confirmed", "declined", "waitlisted"]
# The platform of a device registered for push notifications (devices.platform).
Platform = Literal["ios", "android", "web"]


# defer_build: a function builds the validators of the few models it uses, on first use,
# instead of every model of the API at import (most of this module's import time otherwise).
# And no pydantic plugin is used: looking for one (the entry points of every installed
# distribution) was 11 ms of each function's first request. Read when the first validator is
# built, so setting it here, before any, is enough; a deployment may still set it otherwise.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    # The fields that say what a partial update is of, not what changes in it.
    _identifies: ClassVar[frozenset[str]] = frozenset()

    def changes(self) -> dict[str, Any]:
        """For a partial update: the fields the request sets, with their new values."""
        return {name: getattr(self, name) for name in self.model_fields_set - self._identifies}


class Response(BaseModel):
    # Every field of a response is always sent (null when empty), so the document says each
    # is required, and generated clients type none of them as possibly absent.
    model_config = ConfigDict(
        from_attributes=True,
        frozen=True,
        defer_build=True,
        serialize_by_alias=True,
        json_schema_serialization_defaults_required=True,
    )


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


EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
# The patterns sit in the string constraints, before realm.text's validator: a constraint after
# a validator is checked at run time but left out of the JSON schema, which is how the document
# lost them once (tests/unit/test_openapi.py now checks both ends).
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN),
    AfterValidator(text.line),
    Field(
        description="Unique across users, compared without regard to case.",
        examples=["zoe@example.org"],
    ),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=PHONE_PATTERN),
    Field(description="E.164: '+', country code and number, e.g. +4915112345678"),
]


class SignupForm(Request):
    display_name: Annotated[Text, Field(min_length=1, max_length=80)]
    handle: Annotated[
        Handle | None,
        Field(default=None, description="Made from the display name when not given."),
    ]
    email: Email
    phone: Annotated[Phone | None, Field(default=None)]


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
    guest_id: Annotated[Id | None, Field(default=None, description="Send this or `handle`.")]
    handle: Annotated[
        Handle | None,
        Field(default=None, description="The guest's handle, instead of `guest_id`."),
    ]

    @model_validator(mode="after")
    def _exactly_one_guest(self) -> Self:
        if (self.guest_id is None) == (self.handle is None):
            raise ValueError("send exactly one of guest_id and handle")
        return self


class RespondInviteRequest(Request):
    party_id: Id
    response: Literal["confirmed", "declined"]
    plus_ones: Annotated[
        int | None,
        Field(
            default=None,
            ge=0,
            le=10,
            description="People the guest brings, at most the party's max_plus_ones. "
            "Absent: unchanged (0 for a first confirmation). Ignored on a decline.",
        ),
    ]


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


class PhotoUrlsOut(Response):
    """A ready photo's images, all WebP, upright and stripped of metadata; signed and
    time-limited (at least 6 hours) in the cloud."""

    display: Annotated[str, Field(description="The whole photo, longest side at most 1280 px.")]
    size_512: Annotated[str, Field(alias="512", description="A 512x512 centre square.")]
    size_128: Annotated[
        str, Field(alias="128", description="A 128x128 centre square (avatars, lists).")
    ]


class PhotoOut(Response):
    id: UUID
    status: Literal["processing", "ready", "rejected"]
    urls: Annotated[
        PhotoUrlsOut | None,
        Field(default=None, description="When ready; null while processing or when rejected."),
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
        GuestStatus | None,
        Field(
            description="The caller's answer, on the invited and confirmed views "
            "(the confirmed view also holds the waitlisted)."
        ),
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
    discoverable_by_phone: Annotated[
        bool, Field(description="Whether match-contacts finds this user by `phone`.")
    ]
    is_host: bool
    photo: PhotoOut | None
    created_at: datetime


class InviteOut(Response):
    id: int
    party_id: int
    guest_id: int
    status: GuestStatus
    plus_ones: int
    created_at: datetime
    responded_at: datetime | None


class PhotoAcceptedOut(Response):
    photo_id: UUID
    status: Literal["processing"]


class ErrorDetail(BaseModel):
    """One problem with the request: today, one per invalid field."""

    model_config = ConfigDict(defer_build=True, json_schema_serialization_defaults_required=True)

    field: Annotated[
        str | None,
        Field(
            description="Dotted path of the field ('first_entry', 'phones.3'); null for the "
            "body as a whole.",
            examples=["first_entry"],
        ),
    ]
    type: Annotated[
        str, Field(description="What is wrong, as a stable word.", examples=["missing"])
    ]
    message: Annotated[str, Field(description="The same, as a sentence for people.")]


# --- hosting: party details, guest list, changes, co-hosts, calendar (DESIGN §11) -----------


class PartyQuery(Request):
    party_id: Id


class ListGuestsQuery(Request):
    party_id: Id
    status: Annotated[
        GuestStatus | None,
        Field(default=None, description="Only this status; guests may ask for confirmed only."),
    ]
    limit: Annotated[int, Field(default=50, ge=1, le=200)]
    cursor: Annotated[str | None, Field(default=None, max_length=200)]


class UpdatePartyRequest(Request):
    """Only the fields sent change. ``title``, ``description`` and ``capacity`` may be sent as
    null to remove them; the others cannot be null."""

    _identifies: ClassVar[frozenset[str]] = frozenset({"party_id"})

    party_id: Id
    flat: Annotated[Text, Field(default=None, min_length=1, max_length=64)]
    title: Annotated[Text | None, Field(default=None, max_length=120)]
    description: Annotated[Paragraphs | None, Field(default=None, max_length=2000)]
    first_entry: Annotated[
        AwareDatetime,
        Field(
            default=None,
            description="ISO 8601 with a UTC offset, still ahead. Last entry is 12 hours later.",
            gt=datetime(2000, 1, 1, tzinfo=UTC),
            lt=datetime(2999, 1, 1, tzinfo=UTC),
        ),
    ]
    capacity: Annotated[
        int | None,
        Field(default=None, ge=1, le=10000, description="Heads (guests + plus-ones); null: none"),
    ]
    max_plus_ones: Annotated[int, Field(default=None, ge=0, le=10)]
    guest_list_visible: Annotated[
        bool, Field(default=None, description="Whether guests may see who is confirmed.")
    ]


class CancelPartyRequest(Request):
    party_id: Id


class CohostRequest(Request):
    party_id: Id
    user_id: Id


class RemoveGuestRequest(Request):
    party_id: Id
    guest_id: Id


class CalendarQuery(Request):
    token: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,128}$")]


class MyInviteOut(Response):
    status: GuestStatus
    plus_ones: int


class CountsOut(Response):
    invited: int
    confirmed: int
    declined: int
    waitlisted: int
    heads: Annotated[int, Field(description="Confirmed guests and their plus-ones.")]


class PartyDetailOut(PartyOut):
    my_role: Literal["host", "cohost", "guest"]
    my_invite: MyInviteOut | None
    counts: CountsOut
    cohosts: list[UserSummaryOut]
    max_plus_ones: int
    guest_list_visible: bool
    cancelled_at: datetime | None


class GuestOut(Response):
    user: UserSummaryOut
    status: GuestStatus
    plus_ones: int
    responded_at: datetime | None


class GuestPageOut(Response):
    guests: list[GuestOut]
    next_cursor: Annotated[str | None, Field(description="Pass as `cursor` for the next page.")]


class CohostOut(Response):
    party_id: int
    user: UserSummaryOut


class GuestRemovedOut(Response):
    party_id: int
    guest_id: int


class CalendarLinkOut(Response):
    url: Annotated[
        str,
        Field(
            description="Secret subscription URL (webcal apps: replace https with webcal). "
            "A new call replaces it; the previous one stops working."
        ),
    ]


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    code: Annotated[
        str,
        Field(
            description="Stable, snake_case; each operation lists the codes it can answer.",
            examples=["validation_error"],
        ),
    ]
    message: Annotated[str, Field(description="For people; may change, never parse it.")]
    details: list[ErrorDetail]


class ErrorOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    error: ErrorBody


# --- people (issue 9): profile, finding users, contacts, invite links, blocking ----------------

PhoneNumber = Annotated[
    str,
    Field(
        max_length=32,
        description="International (E.164) with its country code; spaces, dashes, dots, "
        "slashes, parentheses and a '(0)' after the country code are ignored.",
        examples=["+49 151 12345678"],
    ),
    AfterValidator(phones.normalize),
]


class UpdateProfileRequest(Request):
    """Partial: a field left out stays as it is."""

    display_name: Annotated[Text | None, Field(default=None, min_length=1, max_length=80)]
    handle: Annotated[Handle | None, Field(default=None)]
    phone: Annotated[
        PhoneNumber | None,
        Field(default=None, description="Stored in E.164; null removes it."),
    ]
    discoverable_by_phone: Annotated[
        bool | None,
        Field(default=None, description="Let people who have your number find you."),
    ]

    @field_validator("display_name", "handle", "discoverable_by_phone")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class FindUsersQuery(Request):
    q: Annotated[
        Text,
        Field(
            min_length=2,
            max_length=50,
            description="A prefix of a handle or of any word of a name; case and accents "
            "do not matter. Several words must each match.",
            examples=["zoe"],
        ),
    ]
    limit: Annotated[int, Field(default=20, ge=1, le=50)]
    cursor: Annotated[str | None, Field(default=None, max_length=1000)]


class MatchContactsRequest(Request):
    phones: Annotated[list[PhoneNumber], Field(max_length=phones.MAX_PER_LOOKUP)]


class CreateInviteLinkRequest(Request):
    party_id: Id
    expires_at: Annotated[
        AwareDatetime | None,
        Field(
            default=None,
            description="ISO 8601 with an offset; in the future. Never, when left out.",
            gt=datetime(2000, 1, 1, tzinfo=UTC),
            lt=datetime(2999, 1, 1, tzinfo=UTC),
        ),
    ]
    max_uses: Annotated[
        int | None,
        Field(
            default=None,
            ge=1,
            le=10000,
            description="How many people may join; no limit when left out.",
        ),
    ]


class JoinPartyRequest(Request):
    token: Annotated[str, Field(description="The last path segment of the invite link's URL.")]


class RevokeInviteLinkRequest(Request):
    link_id: Id


class BlockRequest(Request):
    user_id: Id


class UserPageOut(Response):
    users: list[UserSummaryOut]
    next_cursor: Annotated[str | None, Field(description="Pass as `cursor` for the next page.")]


class ContactMatchOut(UserSummaryOut):
    phone: Annotated[str, Field(description="The number you sent that found them, in E.164.")]


class ContactMatchesOut(Response):
    users: list[ContactMatchOut]


class InviteLinkOut(Response):
    link_id: int
    token: Annotated[str, Field(description="Shown only now; only its hash is kept.")]
    url: Annotated[str, Field(description="The link to share: `<base>/<token>`.")]
    expires_at: datetime | None
    max_uses: int | None
    uses: int


class RevokedLinkOut(Response):
    link_id: int
    party_id: int
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime


class BlockOut(Response):
    user_id: int
    blocked: bool


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
    platform: Platform


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
    def _exactly_one(self) -> Self:
        if (self.ids is None) == (self.all is None):
            raise ValueError("send either 'ids' or 'all': true, not both and not neither")
        return self


class DeviceOut(Response):
    platform: Platform
    registered_at: datetime


class DeviceRemovedOut(Response):
    removed: Annotated[
        bool, Field(description="Whether a device of yours had this token (false when not).")
    ]


class NotificationsReadOut(Response):
    updated: Annotated[
        int, Field(description="How many of the notifications were unread and now are read.")
    ]


# --- accounts: deletion and export (issue 10, second part; DESIGN §13) -------------------------


class DeleteAccountRequest(Request):
    confirm: Annotated[
        str,
        Field(
            max_length=100,
            description='Exactly "delete my account": the person means it.',
            examples=["delete my account"],
        ),
    ]


class AccountDeletionOut(Response):
    status: Annotated[
        Literal["accepted"],
        Field(
            description="The account is gone from the app now; its photos, notifications and "
            "sign-in account are removed in the background, within minutes."
        ),
    ]
    parties_cancelled: Annotated[
        int, Field(description="Upcoming parties of yours cancelled; their guests are told.")
    ]


class ExportPersonOut(Response):
    """Someone else: the user summary without its photo."""

    id: int
    handle: str
    display_name: str


class ExportProfileOut(Response):
    id: int
    auth_uid: Annotated[str, Field(description="Your Firebase Auth uid.")]
    handle: str
    display_name: str
    email: str
    phone: str | None
    discoverable_by_phone: bool
    photo: PhotoOut | None
    created_at: datetime


class ExportPhotoOut(Response):
    id: UUID
    status: Literal["processing", "ready", "rejected"]
    content_type: str
    width: int | None
    height: int | None
    bytes: int
    sha256: str
    rejected_reason: str | None
    created_at: datetime
    urls: Annotated[
        PhotoUrlsOut | None, Field(description="Fresh URLs of a ready photo; null otherwise.")
    ]


class ExportGuestOut(Response):
    user: ExportPersonOut
    status: GuestStatus
    plus_ones: int
    invited_at: datetime
    responded_at: datetime | None


class ExportPartyOut(Response):
    id: int
    role: Literal["host", "cohost"]
    flat: str
    title: str | None
    description: str | None
    capacity: int | None
    max_plus_ones: int
    guest_list_visible: bool
    first_entry: datetime
    last_entry: datetime
    cancelled_at: datetime | None
    created_at: datetime
    host: ExportPersonOut
    guests: list[ExportGuestOut]
    guest_list_complete: Annotated[
        bool,
        Field(
            description="False when the export's bound on guests cut this list (or left it "
            "out): list-guests pages through the whole of it."
        ),
    ]


class ExportInvitedToOut(Response):
    id: int
    flat: str
    title: str | None
    first_entry: datetime
    last_entry: datetime
    cancelled_at: datetime | None
    host: ExportPersonOut


class ExportInviteOut(Response):
    party: ExportInvitedToOut
    status: GuestStatus
    plus_ones: int
    invited_at: datetime
    responded_at: datetime | None


class ExportBlockOut(Response):
    user: ExportPersonOut
    blocked_at: datetime


class ExportLinkOut(Response):
    id: int
    party_id: int
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime | None


class ExportDeviceOut(Response):
    platform: Platform
    registered_at: datetime


class ExportCalendarLinkOut(Response):
    created_at: datetime


class ExportNotificationOut(Response):
    id: str
    type: str
    title: str
    body: str
    party_id: int | None
    invite_id: int | None
    created_at: datetime
    read: bool


class ExportOut(Response):
    """Everything stored about you (docs/api/accounts.md: what is in it, and its bounds)."""

    exported_at: datetime
    profile: ExportProfileOut
    photos: list[ExportPhotoOut]
    parties: Annotated[
        list[ExportPartyOut], Field(description="Parties you host or co-host, newest first.")
    ]
    invites: Annotated[
        list[ExportInviteOut], Field(description="Your invitations as a guest, newest first.")
    ]
    blocks: Annotated[list[ExportBlockOut], Field(description="The people you blocked.")]
    invite_links: list[ExportLinkOut]
    devices: list[ExportDeviceOut]
    calendar_link: Annotated[
        ExportCalendarLinkOut | None,
        Field(description="When you made your calendar link (its secret is not stored)."),
    ]
    notifications: Annotated[
        list[ExportNotificationOut], Field(description="Your notifications, newest first.")
    ]
    truncated: Annotated[
        list[
            Literal[
                "photos", "parties", "guests", "invites", "blocks", "invite_links", "notifications"
            ]
        ],
        Field(description="Sections cut at their bound (newest kept); empty when complete."),
    ]
