"""Every function of ``functions/`` served by one process, each under ``/<function-name>``.

Each function is loaded by functions-framework exactly as Cloud Functions loads it, so what is
served here is what runs in the cloud, including the conversion of Pub/Sub push requests into
CloudEvents for the event functions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
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
    return DispatcherMiddleware(_not_found, mounts)


class _QuietHandler(WSGIRequestHandler):
    # Keep-alive, as werkzeug gives its own handler on a threaded server.
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Every function already logs one structured line per request."""


def make(host: str, port: int, app: Any) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
