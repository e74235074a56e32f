"""Request-wide wiring that belongs to no app: the request id every log line carries, the
cache rule for personal pages and JSON, and the idle sign-out."""

import logging
import re
import time
import uuid

from django.conf import settings
from django.contrib import auth, messages
from django.utils.translation import gettext as _

from portal.logging import request_id_var
from portal.metrics import observe_request

access_log = logging.getLogger("portal.access")

# An id from the proxy in front is kept so one request can be followed across systems; one that
# could break a log line or a header (too long, odd characters) is replaced.
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Give each request an id (X-Request-ID), echo it on the response, log one access line.

    First in MIDDLEWARE, so every answer, a static file or a refusal included, carries it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            response["X-Request-ID"] = request_id
            observe_request(request.method, response.status_code, seconds)
            # The path without its query string: a query may hold what someone typed.
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class PrivateCacheMiddleware:
    """`Cache-Control: no-store, private` on every page and every JSON answer.

    The portal's pages are about a person (their proposals, their choices, who read them), and
    a browser's back button or a proxy must not keep them. Static files never reach this (they
    are answered by WhiteNoise, above); a view that means to be cached publicly (the receipt
    signing keys) says `public` itself and is left alone.
    """

    VALUE = "no-store, private"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "public" in response.get("Cache-Control", ""):
            return response
        response["Cache-Control"] = self.VALUE
        response.headers.pop("Expires", None)
        return response


SESSION_LAST_SEEN = "portal_last_seen"


def stamp_session(request) -> None:
    """Mark the session as used now (at sign-in, and at most once a minute afterwards)."""
    request.session[SESSION_LAST_SEEN] = int(time.time())


class IdleSessionTimeoutMiddleware:
    """Sign out a session unused for PORTAL_SESSION_IDLE_MINUTES (sliding).

    The last use is kept in the session and written at most once a minute, so a person
    clicking through pages costs one session write a minute, not one a request.
    """

    WRITE_EVERY_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(SESSION_LAST_SEEN)
            idle_limit = settings.PORTAL_SESSION_IDLE_MINUTES * 60
            if last_seen is not None and now - last_seen > idle_limit:
                auth.logout(request)
                if not request.path.startswith(("/api/", "/scim/")):
                    messages.info(
                        request,
                        _("You were signed out after %(minutes)s minutes without activity.")
                        % {"minutes": settings.PORTAL_SESSION_IDLE_MINUTES},
                    )
            elif last_seen is None or now - last_seen >= self.WRITE_EVERY_SECONDS:
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)
