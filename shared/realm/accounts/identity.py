"""Sign-in accounts: deleting a person's Firebase Auth account when they delete their Realm one.

The port is ``Identities`` (one call: ``delete``). Its adapter ``IdentityToolkit`` speaks
Firebase Auth's admin REST API, Identity Toolkit v1:

    POST {base}/v1/projects/{project}/accounts:delete   {"localId": "<uid>"}

- in the cloud, ``https://identitytoolkit.googleapis.com`` as the function's own identity
  (google-auth default credentials, an OAuth token kept and refreshed like push's; the service
  account holds a role with ``firebaseauth.users.delete`` only, terraform/iam.tf);
- locally, the Firebase Auth emulator, which serves the same API under
  ``http://<host>/identitytoolkit.googleapis.com`` and takes ``Authorization: Bearer owner``
  as its admin credential (``realm serve --auth-emulator``, and the tests).

Without the emulator a local run has no identity provider to delete from (its tokens come
from ``realm token``'s local key): ``NoIdentities`` says so and deletes nothing.

A call is bounded (``REALM_IDENTITY_TIMEOUT_SECONDS``), made holding no database connection
(``guard.outside_call``), and never retried in-process: a failure is ``IdentityUnavailable``,
the account-deleted event fails, and Pub/Sub delivers it again. Deleting an account that is
not there (``USER_NOT_FOUND``: a redelivery after a delete whose answer was lost) is success.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from realm.config import settings
from realm.db import guard
from realm.errors import DependencyUnavailable
from realm.events.push import AccessToken, GoogleAccessToken
from realm.logs import log
from realm.process import PerKey

GOOGLE = "https://identitytoolkit.googleapis.com"
# Identity Toolkit's admin calls accept the cloud-platform scope; what the identity may do is
# decided by its IAM role, not by the scope.
SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class IdentityUnavailable(DependencyUnavailable):
    """Firebase Auth's admin API failed, refused us, or did not answer in time."""

    dependency = "firebase-auth"


class Identities(Protocol):
    name: str

    def delete(self, auth_uid: str) -> bool:
        """Deletes the sign-in account; False when there was none. Raises
        ``IdentityUnavailable`` when that cannot be known now."""
        ...


class EmulatorOwner:
    """The Auth emulator's admin credential, by its documentation."""

    def token(self) -> str:
        return "owner"

    def invalidate(self) -> None:
        """Nothing to refresh."""


class IdentityToolkit:
    """Identity Toolkit v1 over a pooled urllib3 client: Google, or the Auth emulator."""

    def __init__(
        self, base: str, project_id: str, token: AccessToken | None = None, timeout: float = 10.0
    ) -> None:
        import urllib3

        self.name = "identity-toolkit" if base.startswith("https://") else "auth-emulator"
        self.url = f"{base.rstrip('/')}/v1/projects/{project_id}/accounts:delete"
        self.http = urllib3.PoolManager(
            num_pools=1,
            maxsize=4,
            timeout=urllib3.Timeout(connect=min(3.0, timeout), read=timeout),
            # A failed connect is retried once (nothing was sent); the rest is Pub/Sub's.
            retries=urllib3.Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0),
        )
        if token is None:
            import google.auth.transport.urllib3

            transport: Any = google.auth.transport.urllib3
            token = GoogleAccessToken(transport.Request(self.http), scope=SCOPE)
        self._token = token

    def delete(self, auth_uid: str) -> bool:
        import urllib3

        guard.outside_call("identity-toolkit.delete")
        try:
            bearer = self._token.token()
        except Exception as error:  # no credentials, metadata server or IAM down
            raise IdentityUnavailable(f"no access token: {type(error).__name__}") from error
        try:
            response = self.http.request(
                "POST",
                self.url,
                body=json.dumps({"localId": auth_uid}).encode(),
                headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
            )
        except urllib3.exceptions.HTTPError as error:  # timeouts and connection failures
            raise IdentityUnavailable.caused_by(error) from error
        if 200 <= response.status < 300:
            return True
        reason = _error_message(response.data)
        if response.status == 400 and reason.startswith("USER_NOT_FOUND"):
            return False
        if response.status == 401:
            self._token.invalidate()
        raise IdentityUnavailable(f"HTTP {response.status} {reason}"[:300])


def _error_message(body: bytes) -> str:
    """Identity Toolkit's ``{"error": {"message": "USER_NOT_FOUND", ...}}``, or what came."""
    try:
        parsed = json.loads(body)
        return str(parsed["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")


class NoIdentities:
    """A local run whose tokens come from ``realm token``: no sign-in account exists."""

    name = "none"

    def delete(self, auth_uid: str) -> bool:
        log.info("no identity provider configured: no sign-in account to delete")
        return False


def choice() -> tuple[str, ...]:
    """Google in the cloud; the Auth emulator when it is the local identity provider."""
    if settings.env == "cloud":
        return ("cloud", GOOGLE, settings.project_id)
    if settings.auth_emulator_host:
        emulator = f"http://{settings.auth_emulator_host}/identitytoolkit.googleapis.com"
        return ("emulator", emulator, settings.project_id)
    return ("none",)


def _make(key: tuple[str, ...]) -> Identities:
    if key[0] == "none":
        return NoIdentities()
    token = None if key[0] == "cloud" else EmulatorOwner()
    return IdentityToolkit(key[1], key[2], token, settings.bounds.identity_seconds)


_identities: PerKey[tuple[str, ...], Identities] = PerKey(_make)


def default() -> Identities:
    """The process's adapter, made once per configuration."""
    return _identities.get(choice())
