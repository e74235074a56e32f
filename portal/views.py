"""Project-level pages that belong to no single app: the landing page and the health check."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe


@require_GET
def home(request):
    if request.user.is_authenticated:
        return redirect("hr:start")  # each role's landing page (assignments knows roles)
    return render(request, "home.html")


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_broker() -> str:
    from portal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


@require_safe  # probes may ask with HEAD
@never_cache
def healthz(request):
    """Liveness for load balancers: 200 when the database and the broker answer, else 503."""
    checks = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # any failure is reported, never raised
            checks[name] = f"error: {exc.__class__.__name__}"
    healthy = all(v == "ok" for v in checks.values())
    # Only the status and its checks: the endpoint is public, and settings (debug, versions,
    # addresses) tell an outsider what to try.
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)
