"""Structured logs: one JSON object per line on stdout, in Cloud Logging's shape.

Cloud Logging reads ``severity``, ``message`` and ``logging.googleapis.com/trace`` from each line.
Nothing here ever logs a request's headers or body, so tokens and image bytes never reach a log.

Every line names the function it comes from, in ``service`` and ``function`` (``service`` as AWS
Lambda Powertools' logger and Cloud Run's ``K_SERVICE`` call it): in the cloud each process is
one function and ``K_SERVICE`` names it; locally one process serves every function, so the
name comes from the request being served (the local server and ``@endpoint`` bind it).

Fields that belong to the whole request or event (the function, an event's id and type) are
bound once in a context variable and appear on every line logged while it is handled::

    with logs.bound(event_id=event.event_id, event_type=event.type):
        log.warning("dropped")            # carries service, function, event_id, event_type

A line's own facts still go in ``extra={"fields": {...}}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from realm.config import settings

trace: ContextVar[str | None] = ContextVar("trace", default=None)
# The fields of the request or event being handled (see bound()); never mutated in place.
_context: ContextVar[Mapping[str, Any]] = ContextVar("realm_log_context", default={})  # noqa: B039
# The function a line comes from when nothing is bound: in the cloud, Cloud Run's service name.
_SERVICE = os.environ.get("K_SERVICE") or "realm"


def bind(**fields: Any) -> Token[Mapping[str, Any]]:
    """Adds ``fields`` to every line logged in this context until :func:`unbind`."""
    return _context.set({**_context.get(), **fields})


def unbind(token: Token[Mapping[str, Any]]) -> None:
    _context.reset(token)


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """``with bound(...):`` - :func:`bind` for the block."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


_SEVERITY = {
    "WARNING": "WARNING",
    "CRITICAL": "CRITICAL",
    "ERROR": "ERROR",
    "INFO": "INFO",
    "DEBUG": "DEBUG",
}


def _entry(severity: str, message: str, logger: str, fields: Any) -> dict[str, Any]:
    """One line's object: its own facts, the request's bound fields, its function and trace."""
    bound_fields = _context.get()
    function = bound_fields.get("function") or _SERVICE
    entry: dict[str, Any] = {
        "severity": severity,
        "message": message,
        "logger": logger,
        "service": function,
        **bound_fields,
        "function": function,
    }
    current_trace = trace.get()
    if current_trace:
        entry["logging.googleapis.com/trace"] = current_trace
    if isinstance(fields, dict):
        entry.update(fields)
    return entry


class CloudLoggingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = _entry(
            _SEVERITY.get(record.levelname, "DEFAULT"),
            record.getMessage(),
            record.name,
            getattr(record, "fields", None),
        )
        if record.exc_info:
            entry["stack_trace"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str)


def trace_from_headers(cloud_trace: str | None, traceparent: str | None) -> str | None:
    """The Cloud Logging trace name for a request's trace headers, if it carries any."""
    trace_id = None
    if cloud_trace:
        trace_id = cloud_trace.split("/", 1)[0]
    elif traceparent:
        parts = traceparent.split("-")
        if len(parts) == 4:
            trace_id = parts[1]
    if not trace_id or not trace_id.isalnum() or len(trace_id) > 64:
        return None
    return f"projects/{settings.project_id}/traces/{trace_id}"


def _configure() -> logging.Logger:
    logger = logging.getLogger("realm")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(CloudLoggingFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


log = _configure()
_OWN_HANDLERS = list(log.handlers)


def request_line(message: str, http_request: dict[str, Any]) -> None:
    """Logs the request's line (``GET /me 200``, with Cloud Logging's ``httpRequest``) at INFO.

    The same line ``log.info`` writes, written straight to our handler's stream while the
    logger has no other handler: a LogRecord (the caller's frame, thread and process names, the
    handler chain) cost more than the rest of the line, a tenth of a list-parties request's CPU
    (docs/decisions/0061). Any other handler added to the logger gets it the usual way.
    """
    if not log.isEnabledFor(logging.INFO):
        return
    if log.handlers != _OWN_HANDLERS:
        log.info(message, extra={"fields": {"httpRequest": http_request}})
        return
    line = json.dumps(_entry("INFO", message, log.name, {"httpRequest": http_request}), default=str)
    for handler in _OWN_HANDLERS:
        assert isinstance(handler, logging.StreamHandler)
        with handler.lock:  # type: ignore[union-attr]
            handler.stream.write(line + handler.terminator)
            handler.flush()
