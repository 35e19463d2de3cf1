"""What a log record says besides its message: the request it belongs to and the ids of what
it is about, and the JSON-lines shape of ``--log-format json``.

- **Request id.** Every HTTP request of the server has one (:data:`REQUEST_ID`): the caller's
  ``X-Request-ID`` when it is well formed (:func:`valid_request_id`: 1 to 128 letters, digits
  and ``-_.:``), else a new one (:func:`new_request_id`). The server echoes it in the answer's
  header. It is a :class:`contextvars.ContextVar`, so it follows the request into the tasks
  and threads it starts (the runs started from the API or the dashboard copy their context
  into their thread).
- **Ids** (:func:`fields`): ``client_id``, ``directory_id``, ``run_id``... set around the
  work they concern (a sync run sets its three); nested calls add to them. A record's own
  ``extra={...}`` of the same names wins.
- **JSON lines** (:class:`JsonFormatter`): one object a line with ``time`` (UTC, ISO 8601 with
  milliseconds), ``level``, ``logger``, ``message``, ``request_id`` (null outside a request),
  the ids above where they exist, and ``exception`` (the type and message, and the traceback)
  when the record carries one. Messages are the same as the text format's: no secret is
  ever formatted into a log message, and the CLI's redacting filter drops a record that
  would hold a secret of the process before any formatter sees it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

__all__ = [
    "FIELD_NAMES",
    "LOG_FORMATS",
    "REQUEST_ID",
    "JsonFormatter",
    "current_fields",
    "fields",
    "new_request_id",
    "valid_request_id",
]

LOG_FORMATS = ("text", "json")

# The ids a record may carry (from fields() or its own extra=), in the order they are written.
FIELD_NAMES = ("client_id", "directory_id", "run_id", "credential_id", "relay_id", "operator")

REQUEST_ID: ContextVar[str | None] = ContextVar("credsync_request_id", default=None)
_FIELDS: ContextVar[Mapping[str, str]] = ContextVar("credsync_log_fields", default={})  # noqa: B039 - never mutated

_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def valid_request_id(text: str | None) -> bool:
    """Whether ``text`` may be used as a request id as it is (1 to 128 of ``A-Za-z0-9._:-``):
    anything else (spaces, quotes, newlines that would forge a log line) is replaced."""
    return text is not None and _WELL_FORMED.fullmatch(text) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def fields(**ids: str | None) -> Iterator[None]:
    """Within the block, every log record carries these ids too (None: left out)."""
    token = _FIELDS.set({**_FIELDS.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _FIELDS.reset(token)


def current_fields() -> Mapping[str, str]:
    return _FIELDS.get()


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module's doc)."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.UTC)
        line: dict[str, object] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        ids = dict(_FIELDS.get())
        for name in FIELD_NAMES:
            value = getattr(record, name, None)
            if value is not None:
                ids[name] = str(value)
        line.update({name: ids[name] for name in FIELD_NAMES if name in ids})
        if record.exc_info and record.exc_info[1] is not None:
            err = record.exc_info[1]
            line["exception"] = {
                "type": type(err).__name__,
                "message": str(err),
                "traceback": self.formatException(record.exc_info),
            }
        line["pid"] = record.process
        return json.dumps(line, ensure_ascii=False, default=str)
