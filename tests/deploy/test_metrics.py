"""/metrics: only for the token's holder; the figures an operator watches, read where they live."""

import re
from datetime import timedelta

import pytest
import redis
import time_machine
from django.utils import timezone

from portal.metrics import TASKS_KEY
from webhooks.models import WebhookDelivery, WebhookEndpoint

TOKEN = "metrics-test-token"


@pytest.fixture
def scrape(client, settings):
    settings.PORTAL_METRICS_TOKEN = TOKEN

    def _scrape():
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        return response.content.decode()

    return _scrape


def _value(text, series, default=None, **labels):
    wanted = "".join(f'(?=[^}}]*{k}="{re.escape(v)}")' for k, v in labels.items())
    pattern = rf"^{series}(?:\{{{wanted}[^}}]*\}})? (\S+)$"
    found = re.search(pattern, text, re.M)
    if found is None and default is not None:
        return default
    assert found, f"{series} {labels} not in the scrape"
    return float(found.group(1))


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_and_refused_without_the_right_one(client, settings):
    settings.PORTAL_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.PORTAL_METRICS_TOKEN = TOKEN
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


@pytest.mark.django_db
def test_requests_are_counted(client, scrape):
    before = _value(scrape(), "portal_http_requests_total", 0, method="GET", status="200")
    client.get("/healthz")
    client.get("/healthz")
    after = _value(scrape(), "portal_http_requests_total", method="GET", status="200")
    assert after - before >= 3  # two health checks and the first scrape


@pytest.mark.django_db
def test_task_outcomes_and_queue_depth_come_from_redis(scrape, settings):
    from notifications.tasks import requeue_pending_emails

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(TASKS_KEY)
    requeue_pending_emails.apply()  # through Celery's tracer: its signals fire as in a worker
    client.rpush("celery", "a message nobody will take")
    try:
        text = scrape()
    finally:
        client.delete("celery")
    name = "notifications.tasks.requeue_pending_emails"
    assert _value(text, "portal_celery_tasks_total", task=name, outcome="success") == 1
    assert _value(text, "portal_celery_queue_depth", queue="celery") >= 1
    assert _value(text, "portal_metrics_source_up", source="redis") == 1


@pytest.mark.django_db
def test_sweep_lag_is_the_age_of_the_oldest_overdue_proposal(scrape, proposal):
    assert _value(scrape(), "portal_sweep_lag_seconds") == 0
    with time_machine.travel(proposal.response_deadline + timedelta(hours=2), tick=False):
        lag = _value(scrape(), "portal_sweep_lag_seconds")
    assert lag == pytest.approx(7200, abs=1)


@pytest.mark.django_db
def test_webhook_failures_are_counted(scrape):
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.test/in", secret="whsec_x", failing_since=timezone.now()
    )
    for key, state, attempts in (("a", "failed", 9), ("b", "pending", 2), ("c", "delivered", 1)):
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_key=key, message_id=f"msg_{key}", topic="proposal.created",
            payload={}, state=state, attempts=attempts,
        )  # fmt: skip
    text = scrape()
    assert _value(text, "portal_webhook_failures", kind="gave_up") == 1
    assert _value(text, "portal_webhook_failures", kind="retrying") == 1
    assert _value(text, "portal_webhook_failures", kind="endpoints_failing") == 1
    assert _value(text, "portal_metrics_source_up", source="database") == 1
