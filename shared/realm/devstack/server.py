"""Every function of ``functions/`` served by one process, each under ``/<function-name>``.

Each function is loaded by functions-framework exactly as Cloud Functions loads it, so what is
served here is what runs in the cloud, including the conversion of Pub/Sub push requests into
CloudEvents for the event functions.

The server is werkzeug's, with what a body the application did not read must not cost changed
(issue 12: four 100 MB bodies took the process from 151 to 655 MB). werkzeug's handler, after
every response, drains whatever the client is still sending in reads of 10 MB each, up to
10 GB; glibc keeps what those reads allocate. Here the drain reads nothing (``_Input``), the
connection lingers briefly after the response (at most ``LINGER_BYTES`` / ``LINGER_SECONDS``,
in small reads) so the client can read its 413 before the close, and then closes. In front of
every function a cap (``_refuse_oversized``) refuses a declared length over the largest body any
function accepts, so that event functions, which read their whole body, cannot be fed 100 MB
either; and a connection that stops sending headers times out.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

# shared/realm/devstack/server.py → the repository root is three folders up.
REPO_ROOT = Path(__file__).resolve().parents[3]


def functions_dir() -> Path:
    return Path(os.environ.get("REALM_FUNCTIONS_DIR") or REPO_ROOT / "functions")


def function_names(directory: Path | None = None) -> list[str]:
    base = directory or functions_dir()
    return sorted(p.parent.name for p in base.glob("*/main.py"))


def function_module(folder: str) -> ModuleType:
    """A function's main.py loaded as a module of its own, as Cloud Functions loads it: the
    OpenAPI document reads its declaration, tests call its entry point directly."""
    spec = importlib.util.spec_from_file_location(
        f"realm_fn_{folder}", functions_dir() / folder / "main.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deployed_name(folder: str) -> str:
    return folder.replace("_", "-")


def _not_found(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    from realm.edge.http import error_response

    response = error_response(404, "no_such_function", "No function is served at this path.")
    return response(environ, start_response)


def _at_root(name: str, app: Any) -> Any:
    """Mounted at /<name>, a function sees an empty path; in the cloud it sees "/".

    Every line logged while the request is served names the function, as K_SERVICE makes it
    in the cloud, where each function has a process of its own (realm.logs).
    """
    from realm import logs

    def mounted(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not environ.get("PATH_INFO"):
            environ["PATH_INFO"] = "/"
        with logs.bound(function=name):
            return app(environ, start_response)  # type: ignore[no-any-return]

    return mounted


def _refuse_oversized(app: Any) -> Any:
    """Refuses a body declared larger than any function accepts, before any function (or
    functions-framework, which reads an event function's body whole) sees it."""
    from realm.edge.http import error_response
    from realm.media import photos

    limit = photos.body_limit()

    def capped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            response = error_response(413, "payload_too_large", f"The body is over {limit} bytes.")
            return response(environ, start_response)
        return app(environ, start_response)  # type: ignore[no-any-return]

    return capped


def build_app(directory: Path | None = None, extra: dict[str, Any] | None = None) -> Any:
    import functions_framework

    base = directory or functions_dir()
    mounts: dict[str, Any] = {}
    for folder in function_names(base):
        mounts["/" + deployed_name(folder)] = _at_root(
            deployed_name(folder),
            # "http" unless the function registered itself (@cloud_event): functions-framework
            # otherwise takes the previous function's type from FUNCTION_SIGNATURE_TYPE, which
            # it sets as a side effect.
            functions_framework.create_app(  # type: ignore[no-untyped-call]
                target=folder, source=str(base / folder / "main.py"), signature_type="http"
            ),
        )
    from realm.devstack import media_files

    mounts["/media"] = media_files.app  # photo URLs, as signed URLs are in the cloud
    mounts.update(extra or {})
    return _refuse_oversized(DispatcherMiddleware(_not_found, mounts))


# After a response, what the client still sends is read and dropped for at most this long and
# this much (in 64 KiB reads, into one buffer: no memory grows), so that a client still sending
# a refused body sees the 413 rather than a reset; then the connection closes. 32 MiB is what
# Cloud Run itself accepts: a body the cloud would have let through ends the same way here, and
# anything larger is cut off.
LINGER_SECONDS = 2.0
LINGER_BYTES = 32 << 20
# A connection that sends no complete request line and headers within this is closed.
HEADER_TIMEOUT_SECONDS = 30.0


class _Input:
    """The connection's input stream, which stops giving data once the response has started:
    werkzeug's handler would otherwise drain the rest of an unread body in 10 MB reads."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.response_started = False

    def read(self, size: int | None = -1) -> bytes:
        if self.response_started:
            return b""
        return self._raw.read(size)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _QuietHandler(WSGIRequestHandler):
    # werkzeug's handler closes the connection after every response whatever this says.
    protocol_version = "HTTP/1.1"
    # socketserver applies this to the connection: a client that stalls between requests or in
    # its headers is dropped. While a body is read the edge sets its own, shorter, bound.
    timeout = HEADER_TIMEOUT_SECONDS

    def setup(self) -> None:
        super().setup()
        self._input = _Input(self.rfile)
        self.rfile = self._input  # type: ignore[assignment]

    def send_response(self, code: int, message: str | None = None) -> None:
        # From the first byte of the response on, the request body is no longer read.
        self._input.response_started = True
        super().send_response(code, message)

    def handle_one_request(self) -> None:
        self._input.response_started = False
        super().handle_one_request()

    def finish(self) -> None:
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self._linger()
        except OSError:
            pass  # the client has gone already
        super().finish()

    def _linger(self) -> None:
        """Reads and drops what the client still sends, briefly, without holding it."""
        buffer = bytearray(64 * 1024)
        deadline = time.monotonic() + LINGER_SECONDS
        dropped = 0
        while dropped < LINGER_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.connection.settimeout(remaining)
            received = self.connection.recv_into(buffer)
            if not received:
                return
            dropped += received

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Every function already logs one structured line per request."""

    def log_error(self, format: str, *args: Any) -> None:
        """The server's own complaints (a timed-out connection, a bad request line) as one
        JSON line each, like everything else the process logs."""
        from realm.logs import log

        log.warning("local server: " + format, *args)


def make(host: str, port: int, app: Any) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
