"""System checks for what Django's own cannot see (`manage.py check --deploy`).

Registered in portal.apps.PortalConfig.ready. The first three hold everywhere; the database
role is checked in deployment only (`check --deploy`), because in development and in the test
suite the portal connects as the owner of its tables on purpose.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

_UNSAFE_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"}


def _sources(directives: dict, name: str) -> list[str]:
    value = directives.get(name, directives.get("default-src"))
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@register(Tags.security)
def content_security_policy(app_configs, **kwargs):
    errors = []
    if "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE:
        errors.append(
            Error(
                "No Content Security Policy is sent.",
                hint="Add csp.middleware.CSPMiddleware to MIDDLEWARE (django-csp).",
                id="portal.E001",
            )
        )
        return errors
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
    directives = policy.get("DIRECTIVES") or {}
    scripts = _sources(directives, "script-src")
    if not scripts:
        errors.append(
            Error(
                "The Content Security Policy names no script-src or default-src.",
                hint="Set CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'] = [SELF].",
                id="portal.E002",
            )
        )
    unsafe = sorted(set(scripts) & _UNSAFE_SOURCES)
    if unsafe:
        errors.append(
            Error(
                f"The Content Security Policy lets scripts run from {', '.join(unsafe)}.",
                hint="Scripts are files under static/: allow 'self' only, never inline code.",
                id="portal.E003",
            )
        )
    # frame-ancestors never falls back to default-src.
    if list(directives.get("frame-ancestors") or []) != ["'none'"]:
        errors.append(
            Error(
                "The Content Security Policy does not forbid framing (frame-ancestors 'none').",
                id="portal.E004",
            )
        )
    return errors


@register(Tags.security)
def api_permission(app_configs, **kwargs):
    classes = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_PERMISSION_CLASSES")
    if not classes or "rest_framework.permissions.AllowAny" in classes:
        return [
            Error(
                "DRF's default permission lets anyone in (AllowAny).",
                hint="REST_FRAMEWORK['DEFAULT_PERMISSION_CLASSES'] must require authentication "
                "and a scope; a view that is public says so itself.",
                id="portal.E010",
            )
        ]
    return []


@register()
def celery_late_acknowledgement(app_configs, **kwargs):
    if not getattr(settings, "CELERY_TASK_ACKS_LATE", False) or not getattr(
        settings, "CELERY_TASK_REJECT_ON_WORKER_LOST", False
    ):
        return [
            Error(
                "Celery acknowledges tasks before running them: a killed worker loses its task.",
                hint="Set CELERY_TASK_ACKS_LATE and CELERY_TASK_REJECT_ON_WORKER_LOST to True.",
                id="portal.E020",
            )
        ]
    return []


@register(Tags.database, Tags.security, deploy=True)
def ledger_role_is_not_its_owner(app_configs, **kwargs):
    """On PostgreSQL with debug off, the portal's role must not be able to rewrite the ledger.

    Skipped in the migrating process (DATABASE_MIGRATE_URL set), which is the owner by design.
    """
    from django.db import connection

    if settings.DEBUG or connection.vendor != "postgresql" or settings.DATABASE_AS_OWNER:
        return []
    from portal.dbroles import ledger_role_problems

    try:
        problems = ledger_role_problems()
    except Exception as exc:
        return [
            Warning(
                f"Could not check the database role: {exc.__class__.__name__}: {exc}",
                id="portal.W030",
            )
        ]
    return (
        [
            Error(
                f"The portal's database role can rewrite the ledger: {'; '.join(problems)}.",
                hint="Connect as the application role (DATABASE_URL) set up by `manage.py "
                "grant_app_role`; run migrations as the owner (DATABASE_MIGRATE_URL).",
                id="portal.E030",
            )
        ]
        if problems
        else []
    )
