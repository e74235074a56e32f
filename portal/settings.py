"""Settings for Consent Portal, read from the environment (see README, "Configuration")."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_secret

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off "
            "(set DJANGO_SECRET_KEY or DJANGO_SECRET_KEY_FILE)"
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG-1"

ALLOWED_HOSTS = [
    h.strip()
    for h in (env_secret("DJANGO_ALLOWED_HOSTS") or "localhost,127.0.0.1").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from static/, never a CDN
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "people",
    "consent",
    "assignments",
    "notifications",
    "outbox",
    "api",
    "reports",
    "webhooks",
    "datause",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After authentication: the person's own time zone, then HR/admin must have TOTP.
    "people.middleware.EmployeeTimezoneMiddleware",
    "people.middleware.RequireMfaForPrivilegedMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "notifications.context_processors.bell",
                "people.context_processors.roles",
            ],
        },
    },
]

# Database: PostgreSQL when DATABASE_URL is set, otherwise an embedded SQLite file so that
# `make run` needs no server. SQLite transactions start IMMEDIATE so that two writers
# serialise at BEGIN instead of failing half-way (the consent ledger relies on it).
DATABASE_URL = env_secret("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")
# A PostgreSQL streaming replica for the dashboards' heavy reads (README, "Dashboards"):
# reports.routers sends the dashboards' and exports' reads there, every other read and every
# write to the primary. Tests point the alias at the test database (TEST MIRROR).
DATABASE_REPLICA_URL = env_secret("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["reports.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Accounts: email + password only; there is no public sign-up, the HRIS provisions people.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
ACCOUNT_ADAPTER = "portal.adapters.AccountAdapter"
# TOTP for everyone who wants it; required for HR and admins whenever DEBUG is off
# (people.middleware.RequireMfaForPrivilegedMiddleware).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Consent Portal"
# allauth refuses authenticators for unverified addresses to stop an attacker who signed up
# with someone else's email. Here nobody signs up: addresses come from the HRIS, so a person
# whose address row is unverified must still be able to add TOTP.
MFA_ALLOW_UNVERIFIED_EMAIL = True

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# With DJANGO_DEBUG=1 (`make run`) nothing is delivered: each email prints one line (recipient,
# subject, where to read it). EMAIL_BACKEND names another backend, e.g. Django's
# "django.core.mail.backends.console.EmailBackend" for whole messages.
EMAIL_BACKEND = env_secret("EMAIL_BACKEND") or (
    "notifications.backends.SummaryConsoleBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env_secret("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_secret("DEFAULT_FROM_EMAIL", "Consent Portal <portal@localhost>")

# Background work: Redis when REDIS_URL is set, otherwise kombu's filesystem transport
# (a folder under var/) so that `make run` needs no broker server.
REDIS_URL = env_secret("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    }
else:
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With late acks, a worker that loses the broker connection must stop what it is running: the
# broker hands those messages to another worker, and two copies should not run side by side.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
if REDIS_URL:
    # How often a worker looks for messages whose worker died (unacked for longer than the
    # visibility timeout) and puts them back. Tests that kill workers shorten both.
    CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_interval"] = env_int(
        "CELERY_UNACKED_RESTORE_INTERVAL", 10
    )
    CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_throttle"] = env_int(
        "CELERY_UNACKED_RESTORE_THROTTLE", 10
    )
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)  # seconds; a hung SMTP server must not hang a worker

# Notifications: reminders this many hours before a response deadline (comma-separated),
# email retries with exponential backoff (capped at 60 s) before an email is marked failed,
# and the absolute address used for links in emails.
_reminder_hours = env_secret("PORTAL_REMINDER_HOURS", "72,24")
try:
    PORTAL_REMINDER_HOURS = sorted({int(h) for h in _reminder_hours.split(",") if h.strip()})
except ValueError:
    raise ImproperlyConfigured(
        f"PORTAL_REMINDER_HOURS must be whole hours separated by commas (got {_reminder_hours!r})"
    ) from None
if any(h <= 0 for h in PORTAL_REMINDER_HOURS):
    raise ImproperlyConfigured("PORTAL_REMINDER_HOURS must be positive")
PORTAL_EMAIL_MAX_RETRIES = env_int("PORTAL_EMAIL_MAX_RETRIES", 5)
PORTAL_EMAIL_RETRY_BASE_SECONDS = env_int("PORTAL_EMAIL_RETRY_BASE_SECONDS", 5)
# `make run` passes the address it serves (HOST and PORT) unless PORTAL_BASE_URL is set.
PORTAL_BASE_URL = (env_secret("PORTAL_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")

# Outbox topics and the dotted paths of the functions that deliver them (outbox.services).
OUTBOX_HANDLERS = {
    "move.effective": ["assignments.emails.move_effective", "webhooks.tasks.fan_out"],
    **{
        topic: ["webhooks.tasks.fan_out"]
        for topic in (
            "proposal.created",
            "proposal.decided",
            "proposal.expired",
            "proposal.withdrawn",
            "placement.requested",
            "consent.changed",
        )
    },
}
# Webhook endpoints whose every delivery has failed for this long are switched off and their
# owner told (retries of each message run for about 2.3 days).
PORTAL_WEBHOOK_DISABLE_AFTER_HOURS = env_int("PORTAL_WEBHOOK_DISABLE_AFTER_HOURS", 72)

# Called (dotted paths, with employee, actor and now) inside the transaction that deactivates
# someone (people.services.deactivate_employee): the records floor cannot import workflows.
PEOPLE_DEACTIVATION_HOOKS = ["assignments.services.withdraw_open_proposals_on_deactivation"]

# Domain rules.
PORTAL_MIN_RESPONSE_WORKING_DAYS = env_int("PORTAL_MIN_RESPONSE_WORKING_DAYS", 5)
# HR and admin accounts must set up TOTP before using the portal whenever DJANGO_DEBUG is off.
# Read here from the environment, not from DEBUG at request time: the test runner forces
# DEBUG off, and tests that want the rule turn this setting on.
PORTAL_REQUIRE_MFA = env_bool("PORTAL_REQUIRE_MFA", not DEBUG)
# Dashboards and exports never show a count of fewer than this many people, nor one that can
# be worked out from the counts they do show (reports.suppression). It may be raised, never
# lowered below 5 (DESIGN.md, invariant 6).
PORTAL_SUPPRESS_BELOW = env_int("PORTAL_SUPPRESS_BELOW", 5)
if PORTAL_SUPPRESS_BELOW < 5:
    raise ImproperlyConfigured(
        f"PORTAL_SUPPRESS_BELOW must be 5 or more (got {PORTAL_SUPPRESS_BELOW})"
    )

# The data controller named on every consent receipt (consent.receipts; the Kantara receipt's
# piiControllers and jurisdiction): the employer, not the software. Set them in production.
# Unset, a receipt names "your employer" and "your HR partner", the address of
# DEFAULT_FROM_EMAIL, and leaves the address, phone and jurisdiction empty.
PORTAL_CONTROLLER_NAME = env_secret("PORTAL_CONTROLLER_NAME", "")
PORTAL_CONTROLLER_CONTACT = env_secret("PORTAL_CONTROLLER_CONTACT", "")
PORTAL_CONTROLLER_ADDRESS = env_secret("PORTAL_CONTROLLER_ADDRESS", "")
PORTAL_CONTROLLER_EMAIL = env_secret("PORTAL_CONTROLLER_EMAIL", "")
PORTAL_CONTROLLER_PHONE = env_secret("PORTAL_CONTROLLER_PHONE", "")
PORTAL_JURISDICTION = env_secret("PORTAL_JURISDICTION", "")

# Receipt signing (consent.signing): one or more Ed25519 private keys in PEM, concatenated. The
# first signs every receipt (JWS, alg EdDSA, kid = its RFC 7638 thumbprint); the others are
# retired keys, still published at /.well-known/jwks.json so receipts they signed keep
# verifying. With DJANGO_DEBUG and no key, consent.signing generates one once into
# var/receipt-signing-key.pem (this file only reads the environment); without DEBUG a key is
# required. "\n" escapes are accepted for environments that cannot hold a newline.
PORTAL_RECEIPT_SIGNING_KEYS = (env_secret("PORTAL_RECEIPT_SIGNING_KEYS", "") or "").replace(
    "\\n", "\n"
)
PORTAL_RECEIPT_DEV_KEY_FILE = (
    str(VAR_DIR / "receipt-signing-key.pem") if DEBUG and not PORTAL_RECEIPT_SIGNING_KEYS else ""
)
if not PORTAL_RECEIPT_SIGNING_KEYS.strip() and not DEBUG:
    raise ImproperlyConfigured(
        "PORTAL_RECEIPT_SIGNING_KEYS is required when DJANGO_DEBUG is off: one or more Ed25519 "
        "private keys in PEM, the first signs receipts (set PORTAL_RECEIPT_SIGNING_KEYS or "
        "PORTAL_RECEIPT_SIGNING_KEYS_FILE; make one with `openssl genpkey -algorithm ed25519`)"
    )

# REST API (/api/v1/): Bearer API keys with scopes, or the browser session within the
# person's role; problem-details errors; per-client rate limits in the shared cache.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.permissions.HasScope",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.IdCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env_secret("PORTAL_API_RATE", "600/min")},
    "DEFAULT_SCHEMA_CLASS": "api.schema.ScopedAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Consent Portal API",
    "DESCRIPTION": (
        "Read decisions, never make them: opt-ins, opt-outs, withdrawals and undrafts are the "
        "person's own and are recorded only in the browser. Authenticate with "
        "`Authorization: Bearer <key>`; each endpoint names the scope it needs. Errors are RFC "
        "9457 problem details. POSTs accept an `Idempotency-Key` header."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_errors_and_idempotency",
    ],
}
# Shared cache: API rate limits must count across every web process, so Redis when there is
# one; the embedded default (make run, one process) uses local memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
        }
    }

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)


def _not_a_refusal(record) -> bool:
    """403 and 404 are answers the portal gives on purpose (another person's proposal is a
    404), not faults: Django would log each as a warning, a 403 with its traceback."""
    return getattr(record, "status_code", None) not in (403, 404)


def _not_the_filesystem_hostname_warning(record) -> bool:
    """kombu warns that `filesystem://` names no host: that transport has none."""
    return not str(record.msg).startswith("No hostname was supplied")


# One console handler, on the root logger. 5xx answers keep their traceback (django.request
# errors); runserver's access log (django.server, `make run` only) shows only what went wrong.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "not_a_refusal": {
            "()": "django.utils.log.CallbackFilter",
            "callback": _not_a_refusal,
        },
        "not_the_filesystem_hostname_warning": {
            "()": "django.utils.log.CallbackFilter",
            "callback": _not_the_filesystem_hostname_warning,
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO" if DEBUG else "WARNING"},
    "loggers": {
        # Without this, Django's own handler prints every django.* record a second time.
        "django": {"level": "INFO" if DEBUG else "WARNING", "propagate": True},
        "django.request": {"filters": ["not_a_refusal"], "propagate": True},
        "django.server": {"level": "WARNING", "filters": ["not_a_refusal"], "propagate": True},
        "kombu.connection": {"filters": ["not_the_filesystem_hostname_warning"], "propagate": True},
    },
}
