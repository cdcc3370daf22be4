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


def context() -> Mapping[str, Any]:
    """The fields bound now (a copy is never needed: the mapping is replaced, not changed)."""
    return _context.get()


_SEVERITY = {
    "WARNING": "WARNING",
    "CRITICAL": "CRITICAL",
    "ERROR": "ERROR",
    "INFO": "INFO",
    "DEBUG": "DEBUG",
}


class CloudLoggingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        bound_fields = _context.get()
        function = bound_fields.get("function") or _SERVICE
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, "DEFAULT"),
            "message": record.getMessage(),
            "logger": record.name,
            "service": function,
            **bound_fields,
            "function": function,
        }
        current_trace = trace.get()
        if current_trace:
            entry["logging.googleapis.com/trace"] = current_trace
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
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
