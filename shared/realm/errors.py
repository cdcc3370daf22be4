"""Domain errors: what can go wrong in the business rules, each with a stable ``code``.

The HTTP layer maps each kind to its status; the domain never speaks HTTP.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration variable is missing or invalid; the message names it."""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class RuleViolation(DomainError):
    """Well-formed input that the app's rules do not allow (a party that is over, say)."""

    code = "rule_violation"


class TooLarge(DomainError):
    """The input is over a size limit."""

    code = "payload_too_large"


class UnsupportedMedia(DomainError):
    """The input is not of a type we accept (judged by its content, not its name)."""

    code = "unsupported_media_type"


class SignupRequired(Forbidden):
    code = "signup_required"

    def __init__(self) -> None:
        super().__init__("Sign up before using the app.")
