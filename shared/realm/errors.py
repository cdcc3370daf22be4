"""Domain errors: what can go wrong in the business rules, one class per stable ``code``.

Each error is a class named for what happened (``PartyNotFound``), whose base is the *kind* of
failure (``NotFound``, ``Forbidden``, …). The HTTP layer maps each kind to its status; the domain
never speaks HTTP. Every function declares the classes it can raise (``@endpoint(errors=...)``),
which is where the per-operation list of codes in the OpenAPI document comes from; a test over
the end-to-end suite checks that no function answers a code it did not declare.

    raise PartyNotFound()                      # the class's default message
    raise PartyOver("This party is over.")     # or one that says more
"""

from __future__ import annotations

from typing import ClassVar, Self


class ConfigError(Exception):
    """A configuration variable is missing or invalid; the message names it."""


class DependencyUnavailable(Exception):
    """A service we depend on (PostgreSQL, storage, Google's keys, …) is down, frozen or too
    busy to answer within its bound. Not the caller's fault and not a bug: the edge answers
    ``503 unavailable`` with ``Retry-After``, and logs it as one line (``realm.outages``).

    ``dependency`` names the service for the log; ``retry_after`` is the seconds the app should
    wait before trying again.
    """

    dependency: ClassVar[str] = "dependency"
    retry_after: ClassVar[int] = 2

    @classmethod
    def caused_by(cls, error: BaseException) -> Self:
        """One whose message is ``error``'s class and text, cut at 300 characters (a client
        library's text can hold a whole response). Raise it ``from error``. For the classes
        made from a message alone (not ``DatabaseUnavailable``, which needs ``broken``)."""
        return cls(f"{type(error).__name__}: {error}"[:300])


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    default_message: ClassVar[str] = "The request cannot be done."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


# -- the kinds: each maps to one HTTP status (realm.edge.http) ---------------------------------


class BadRequest(DomainError):
    """The request is malformed in a way the models cannot see (a cursor we never gave out)."""


class NotFound(DomainError):
    """Unknown, or not the caller's to know about (both answer the same)."""


class Forbidden(DomainError):
    """Known to the caller, but not theirs to do."""


class Conflict(DomainError):
    """Clashes with the current state."""


class RuleViolation(DomainError):
    """Well-formed input that the app's rules do not allow (a party that is over, say)."""


class TooLarge(DomainError):
    """The input is over a size limit."""


class UnsupportedMedia(DomainError):
    """The input is not of a type we accept (judged by its content, not its name)."""


class RateLimited(DomainError):
    """Over a quota; ``retry_after`` seconds until the caller may try again."""

    code = "rate_limited"
    default_message = "Too many requests of this kind; try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


# -- the codes -----------------------------------------------------------------------------------


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    default_message = "The cursor is not one this API gave out."


class PartyNotFound(NotFound):
    code = "party_not_found"
    default_message = "No such party."


class GuestNotFound(NotFound):
    code = "guest_not_found"
    default_message = "No such guest."


class InviteNotFound(NotFound):
    code = "invite_not_found"
    default_message = "You have no invite to this party."


class UserNotFound(NotFound):
    code = "user_not_found"
    default_message = "No such user."


class CohostNotFound(NotFound):
    code = "cohost_not_found"
    default_message = "This user is not a co-host of this party."


class CalendarNotFound(NotFound):
    code = "calendar_not_found"
    default_message = "No such calendar: the link is wrong or has been replaced by a newer one."


class LinkNotFound(NotFound):
    """Every kind of bad invite-link token answers this, and only this (DESIGN §12)."""

    code = "link_not_found"
    default_message = "This invite link does not work."


class SignupRequired(Forbidden):
    code = "signup_required"
    default_message = "Sign up before using the app."


class NotHost(Forbidden):
    code = "not_host"
    default_message = "Only the party's host can do this."


class GuestListHidden(Forbidden):
    code = "guest_list_hidden"
    default_message = "Only the party's hosts can see this guest list."


class AlreadySignedUp(Conflict):
    code = "already_signed_up"
    default_message = "You have already signed up."


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "This email address belongs to another account."


class HandleTaken(Conflict):
    code = "handle_taken"
    default_message = "This handle belongs to someone else."


class AlreadyInvited(Conflict):
    code = "already_invited"
    default_message = "This guest is already invited to this party."


class AlreadyCohost(Conflict):
    code = "already_cohost"
    default_message = "This user is already a co-host of this party."


class NoRoom(Conflict):
    code = "no_room"
    default_message = (
        "There is no room for more plus-ones at this party; your answer stays as it was."
    )


class PartyOver(RuleViolation):
    code = "party_over"
    default_message = "This party is over."


class PartyCancelled(RuleViolation):
    code = "party_cancelled"
    default_message = "This party has been cancelled."


class TooFarAhead(RuleViolation):
    code = "too_far_ahead"
    default_message = "Parties can be planned at most two years ahead."


class SelfInvite(RuleViolation):
    code = "self_invite"
    default_message = "The party's hosts and co-hosts cannot be invited to it."


class SelfCohost(RuleViolation):
    code = "self_cohost"
    default_message = "The party's host cannot also be its co-host."


class FirstEntryPassed(RuleViolation):
    code = "first_entry_passed"
    default_message = "A party can only be moved to a time that is still ahead."


class TooManyPlusOnes(RuleViolation):
    code = "too_many_plus_ones"
    default_message = "That is more plus-ones than this party allows."


class SelfBlock(RuleViolation):
    code = "self_block"
    default_message = "You cannot block or unblock yourself."


class ExpiresInPast(RuleViolation):
    code = "expires_in_past"
    default_message = "expires_at must be in the future."


class ConfirmationMismatch(RuleViolation):
    code = "confirmation_mismatch"
    default_message = 'To delete your account, send {"confirm": "delete my account"}.'


class InvalidBase64(RuleViolation):
    code = "invalid_base64"
    default_message = "image_base64 is not valid base64."


class UndecodableImage(RuleViolation):
    code = "undecodable_image"
    default_message = "The image cannot be decoded."


class TooManyPixels(RuleViolation):
    code = "too_many_pixels"
    default_message = "The image has too many pixels."


class MissingFile(RuleViolation):
    """A multipart file part that must be there is not (the models cannot see file parts)."""

    code = "validation_error"
    default_message = "A file part is missing."


class PayloadTooLarge(TooLarge):
    code = "payload_too_large"
    default_message = "The body is too large."


class UnsupportedMediaType(UnsupportedMedia):
    code = "unsupported_media_type"
    default_message = "This type of content is not accepted."


def catalogue() -> dict[str, type[DomainError]]:
    """Every concrete error by its code (the leaves of the class tree)."""
    found: dict[str, type[DomainError]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        if kind is not DomainError and "code" in vars(kind):
            found.setdefault(kind.code, kind)
    return found
