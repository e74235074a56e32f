"""Real parts for the background tests: an SMTP server that counts, the Redis broker, and a
helper that runs the services' on-commit callbacks the way a committed request would."""

import logging
import socket
import threading
import time
from collections import Counter
from email import message_from_bytes

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings

from notifications.models import Notification
from notifications.tasks import send_notification_email


class CountingHandler:
    """Counts accepted messages by Message-ID. `on_data` may veto (return an SMTP reply)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accepted = Counter()
        self.attempted = Counter()  # every DATA seen, accepted or not
        self.accepted_at = {}
        self.messages = []
        self.on_data = None
        self.reply = "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        message_id = message["Message-ID"]
        with self.lock:
            self.attempted[message_id] += 1
        if self.on_data is not None:
            veto = self.on_data(message_id)
            if veto:
                return veto
        if not self.reply.startswith("250"):
            return self.reply
        with self.lock:
            self.accepted[message_id] += 1
            self.accepted_at[message_id] = time.time()
            self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"


@pytest.fixture
def smtp_server():
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    handler = CountingHandler()
    with socket.socket() as probe:  # a free port (aiosmtpd's readiness check needs a real one)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp_backend(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


@pytest.fixture
def broker():
    """The Redis database the tests' broker uses (from settings: never hard-coded)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield client
    client.close()


def queued_task_names(client) -> list[str]:
    import json

    return [json.loads(raw)["headers"]["task"] for raw in client.lrange("celery", 0, -1)]


def run_callbacks(callbacks):
    for callback in callbacks:
        callback()


def send_all_pending():
    """What a worker would do with every queued email: call the task, once per row."""
    pending = Notification.objects.filter(email_state=Notification.EmailState.PENDING)
    for pk in pending.order_by("pk").values_list("pk", flat=True):
        send_notification_email(pk)
