"""Error reporting to Sentry (or a compatible service) when SENTRY_DSN is set.

What leaves the machine is the fault, never a person's data: no default PII (no user, IP or
cookies), no request bodies (a private reason travels in one), no local variables of the
failing frames, and before_send drops whatever request data is left but the method and path.
"""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

# Of the request, only these reach the report.
_KEPT_REQUEST_FIELDS = ("method", "url")


def strip_personal_data(event, hint):
    request = event.get("request")
    if request:
        event["request"] = {k: request[k] for k in _KEPT_REQUEST_FIELDS if k in request}
        if "url" in event["request"]:
            event["request"]["url"] = event["request"]["url"].split("?", 1)[0]
    event.pop("user", None)
    return event


def init_sentry(dsn: str, *, environment: str = "", release: str = "", transport=None) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=strip_personal_data,
        traces_sample_rate=0,
        transport=transport,
    )
