"""The Celery app, the one helper that queues work after commit, and every periodic job."""

import os

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs. Beat must run as exactly one process (see README, "Background work").
app.conf.beat_schedule = {}


def enqueue_after_commit(task, *args, **kwargs):
    """Queue `task` once the surrounding transaction commits; a rollback queues nothing."""
    transaction.on_commit(lambda: task.delay(*args, **kwargs))
