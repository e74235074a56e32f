"""Email backends for running the portal on one machine (`make run`, DJANGO_DEBUG=1).

`SummaryConsoleBackend` prints one line per email instead of Django's console backend's whole
MIME message: who it is for, its subject, and where to read it. A portal notification is also
in the recipient's in-app list, so the line points there; any other email (allauth's password
reset) is not, so the line carries the links the email contains.
"""

import re
import sys
import threading

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

NOTIFICATION_HEADER = "X-Portal-Notification"  # set by notifications.rendering.build_message
_LINK = re.compile(r"https?://[^\s<>\"']+")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def summary(message) -> str:
    """The line printed for one email."""
    to = ", ".join(message.recipients()) or "(nobody)"
    line = f'email to {to}: "{_one_line(message.subject)}"'
    headers = {name.lower() for name in (message.extra_headers or {})}
    if NOTIFICATION_HEADER.lower() in headers:
        return f"{line} - read it at {settings.PORTAL_BASE_URL}{reverse('notifications:list')}"
    links = list(dict.fromkeys(_LINK.findall(str(message.body))))
    return f"{line} - links: {' '.join(links)}" if links else line


class SummaryConsoleBackend(BaseEmailBackend):
    """One line per message on the terminal; nothing is delivered."""

    def __init__(self, *args, stream=None, **kwargs):
        super().__init__(*args, **kwargs)
        # sys.__stderr__, not sys.stderr: a Celery worker redirects sys.stdout and sys.stderr
        # into its log as WARNING records, which would dress every email up as a warning.
        self.stream = stream or sys.__stderr__ or sys.stderr
        self._lock = threading.RLock()

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        sent = 0
        with self._lock:
            try:
                for message in email_messages:
                    # One write per line: two worker processes share the terminal.
                    self.stream.write(f"  {summary(message)}\n")
                    self.stream.flush()
                    sent += 1
            except Exception:
                if not self.fail_silently:
                    raise
        return sent
