"""Prometheus metrics at /metrics, for the operator's scraper only (PORTAL_METRICS_TOKEN).

Where each figure comes from, so it holds with many processes and machines:
- requests: counted in each web process by prometheus_client; under gunicorn its
  multiprocess mode (PROMETHEUS_MULTIPROC_DIR, portal/gunicorn.conf.py) adds up the workers;
- task outcomes and the last successful sweep: counted by the Celery workers in Redis (they
  run in other containers), read at scrape time;
- queue depth: the broker's queue lengths in Redis, read at scrape time;
- sweep lag and webhook failures: read from the database at scrape time.
A source that cannot be read is reported as `portal_metrics_source_up{source=...} 0`; the
scrape itself never fails because of it.
"""

import functools
import hmac
import logging
import os
import time

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "portal_http_requests",
    "HTTP requests answered, by method and status code",
    ["method", "status"],
)
REQUEST_SECONDS = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

TASKS_KEY = "portal:metrics:tasks"
SWEEP_KEY = "portal:metrics:sweep-last-success"
SWEEP_TASK = "assignments.tasks.sweep_deadlines"
# kombu's Redis transport keeps a queue's priorities in lists of their own, "<queue>\x06\x16N".
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def observe_request(method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method if method in _METHODS else "other", str(status)).inc()
    REQUEST_SECONDS.observe(seconds)


@functools.cache
def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def record_task_outcome(task_name: str, state: str) -> None:
    """Called in the worker after each task (celery's task_postrun): count its outcome."""
    if not settings.REDIS_URL:
        return  # the embedded `make run` broker has no shared store to count in
    outcome = (state or "unknown").lower()
    try:
        pipe = _redis().pipeline()
        pipe.hincrby(TASKS_KEY, f"{task_name}|{outcome}", 1)
        if task_name == SWEEP_TASK and outcome == "success":
            pipe.set(SWEEP_KEY, time.time())
        pipe.execute()
    except Exception:  # a metric must never fail a task
        logger.warning("could not count the outcome of %s", task_name, exc_info=True)


class ScrapeTimeCollector:
    """The figures read from Redis and the database when Prometheus scrapes."""

    def collect(self):
        up = GaugeMetricFamily(
            "portal_metrics_source_up", "1 if the source could be read", labels=["source"]
        )
        for source, read in (
            ("redis", self._from_redis),
            ("database", self._from_database),
        ):
            try:
                families = list(read())
            except Exception:
                logger.warning("metrics: could not read %s", source, exc_info=True)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from families
        yield up

    def _from_redis(self):
        tasks = CounterMetricFamily(
            "portal_celery_tasks",
            "Celery tasks finished, by task and outcome",
            labels=["task", "outcome"],
        )
        depth = GaugeMetricFamily(
            "portal_celery_queue_depth", "Messages waiting in a Celery queue", labels=["queue"]
        )
        last_sweep = GaugeMetricFamily(
            "portal_sweep_last_success_timestamp_seconds",
            "When the deadline sweep last finished successfully (Unix time)",
        )
        if settings.REDIS_URL:
            client = _redis()
            for field, count in sorted(client.hgetall(TASKS_KEY).items()):
                task, _, outcome = field.decode().rpartition("|")
                tasks.add_metric([task, outcome], int(count))
            for queue in _queue_names():
                pipe = client.pipeline()
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
                depth.add_metric([queue], sum(pipe.execute()))
            finished = client.get(SWEEP_KEY)
            if finished is not None:
                last_sweep.add_metric([], float(finished))
        yield from (tasks, depth, last_sweep)

    def _from_database(self):
        from django.apps import apps
        from django.db.models import Min

        now = timezone.now()
        # What the sweep should already have expired and has not: the age of the oldest
        # unanswered proposal past its deadline (people on leave are not expired by design).
        proposal = apps.get_model("assignments", "Proposal")
        oldest = proposal.objects.filter(
            state="pending", response_deadline__lt=now, employee__on_leave_since__isnull=True
        ).aggregate(oldest=Min("response_deadline"))["oldest"]
        lag = GaugeMetricFamily(
            "portal_sweep_lag_seconds",
            "Age of the oldest pending proposal past its deadline that the sweep has not expired",
        )
        lag.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        yield lag

        delivery = apps.get_model("webhooks", "WebhookDelivery")
        endpoint = apps.get_model("webhooks", "WebhookEndpoint")
        failed = GaugeMetricFamily(
            "portal_webhook_failures",
            "Webhook deliveries that gave up, deliveries retrying after a failure, and "
            "endpoints failing now",
            labels=["kind"],
        )
        failed.add_metric(["gave_up"], delivery.objects.filter(state="failed").count())
        failed.add_metric(
            ["retrying"], delivery.objects.filter(state="pending", attempts__gt=0).count()
        )
        failed.add_metric(
            ["endpoints_failing"],
            endpoint.objects.filter(is_active=True, failing_since__isnull=False).count(),
        )
        yield failed


def _queue_names() -> list[str]:
    queues = getattr(settings, "CELERY_TASK_QUEUES", None)
    if queues:
        return sorted({getattr(q, "name", q) for q in queues})
    return [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")]


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every gunicorn worker's counts
    else:
        registry.register(_ProcessMetrics())
    registry.register(ScrapeTimeCollector())
    return registry


class _ProcessMetrics:
    """This process's own counters (runserver, tests): the default registry's."""

    def collect(self):
        yield from REGISTRY.collect()


def _authorised(request) -> bool:
    token = settings.PORTAL_METRICS_TOKEN
    offered = request.headers.get("Authorization", "")
    scheme, _, value = offered.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


@require_safe
@never_cache
def metrics_view(request):
    """/metrics: 404 unless PORTAL_METRICS_TOKEN is set, 401 without that token."""
    if not settings.PORTAL_METRICS_TOKEN:
        raise Http404("metrics are off")
    if not _authorised(request):
        response = HttpResponse(
            "a Bearer token is required\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
