"""Log lines as JSON, each with the id of the request (or task) it belongs to.

`PORTAL_LOG_FORMAT=json` (the default with DJANGO_DEBUG off) prints one JSON object a line:
time, level, logger, message, request_id, and the structured fields a caller passed in
`extra`. `make run` keeps plain text.
"""

import contextvars
import logging

from pythonjsonlogger.json import JsonFormatter

request_id_var = contextvars.ContextVar("portal_request_id", default="")


class RequestIdFilter(logging.Filter):
    """Put the current request's id (portal.middleware.RequestIdMiddleware) on every record."""

    def filter(self, record):
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get() or None
        return True


class PortalJsonFormatter(JsonFormatter):
    # Django attaches the request object to django.request records; printed whole it would
    # carry the query string and headers. The path and status are enough.
    DROPPED = ("request",)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault(
            "rename_fields", {"levelname": "level", "name": "logger", "asctime": "time"}
        )
        super().__init__("%(levelname)s %(name)s %(message)s %(request_id)s", *args, **kwargs)

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        for name in self.DROPPED:
            log_data.pop(name, None)
