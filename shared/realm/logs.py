"""Structured logs: one JSON object per line on stdout, in Cloud Logging's shape.

Cloud Logging reads ``severity``, ``message`` and ``logging.googleapis.com/trace`` from each line.
Nothing here ever logs a request's headers or body, so tokens and image bytes never reach a log.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from typing import Any

from realm.config import settings

trace: ContextVar[str | None] = ContextVar("trace", default=None)

_SEVERITY = {
    "WARNING": "WARNING",
    "CRITICAL": "CRITICAL",
    "ERROR": "ERROR",
    "INFO": "INFO",
    "DEBUG": "DEBUG",
}


class CloudLoggingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, "DEFAULT"),
            "message": record.getMessage(),
            "logger": record.name,
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
