"""``/media/<key>`` on the local server: what a signed Cloud Storage URL is in the cloud.

Only sanitized images (``display.webp``, ``512.webp``, ``128.webp``) are served, never an
original (which may carry a GPS location), from whichever store the functions use (the storage
emulator, or the local directory). Locally these URLs need no token and do not expire.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Request, Response


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    from realm.edge.http import error_response
    from realm.media import storage

    request = Request(environ)
    key = request.path.lstrip("/")
    response: Response
    if request.method not in ("GET", "HEAD"):
        response = error_response(405, "method_not_allowed", "Use GET.", headers={"Allow": "GET"})
    elif not storage.is_servable(key):
        response = error_response(404, "not_found", "No such image.")
    else:
        try:
            data = storage.store().get(key)
        except storage.ObjectMissing:
            response = error_response(404, "not_found", "No such image.")
        else:
            response = Response(data, 200, content_type="image/webp")
            response.headers["Cache-Control"] = "private, max-age=86400"
    return response(environ, start_response)
