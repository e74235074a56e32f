"""Settings for Consent Portal, read from the environment (see README, "Configuration")."""

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
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
# Production refuses the placeholders people paste from examples, and debug pages: they show
# settings and people's data to anyone. The image and docker-compose set PORTAL_PRODUCTION=1.
_DEFAULT_SECRET_KEYS = {
    "insecure-development-key-only-used-with-DJANGO_DEBUG-1",
    *("changeme", "change-me", "secret", "secret-key", "replace-me", "your-secret-key"),
}
if not DEBUG and (
    SECRET_KEY.strip().lower() in {k.lower() for k in _DEFAULT_SECRET_KEYS}
    or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is a well-known placeholder; set a long random one, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`"
    )
if DEBUG and env_bool("PORTAL_PRODUCTION", False):
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=1 is refused in production (PORTAL_PRODUCTION=1): debug pages show "
        "settings and data to anyone who causes an error"
    )

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
    "portal",  # the wiring's system checks (portal.checks) and grant_app_role
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from static/, never a CDN
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",  # SSO with the company's provider
    "people",
    "consent",
    "assignments",
    "notifications",
    "outbox",
    "api",
    "reports",
    "webhooks",
    "datause",
    "privacy",
    "demo",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",  # first: every answer carries its X-Request-ID
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files: compressed, hashed names
    "csp.middleware.CSPMiddleware",
    "portal.middleware.PrivateCacheMiddleware",  # no-store, private: below WhiteNoise
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.IdleSessionTimeoutMiddleware",  # PORTAL_SESSION_IDLE_MINUTES
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.signin.SignInMiddleware",  # PORTAL_PASSWORD_LOGIN=0: SSO only; SSO form-action
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
                "portal.signin.password_login",
            ],
        },
    },
]

# Database: PostgreSQL when DATABASE_URL is set, otherwise an embedded SQLite file so that
# `make run` needs no server. SQLite transactions start IMMEDIATE so that two writers
# serialise at BEGIN instead of failing half-way (the consent ledger relies on it).
# In production two PostgreSQL roles (README, "Database roles"): the portal connects as
# DATABASE_URL, a role that may only append to the ledger (`manage.py grant_app_role`), and
# migrations run in a process that also has DATABASE_MIGRATE_URL, the owner of the tables
# (docker-compose's one-shot `migrate` service), which then connects as that owner.
DATABASE_AS_OWNER = bool(env_secret("DATABASE_MIGRATE_URL"))
DATABASE_URL = env_secret("DATABASE_MIGRATE_URL") or env_secret("DATABASE_URL")
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
# PostgreSQL's JIT compiler fires on the dashboards' large aggregates (the HR overview, "no
# adverse consequence") and costs far more than it saves on them: at 100,000 employees it
# spent over a second compiling a statement that runs in a few hundred ms. Off for every
# connection (a libpq option: no extra query).
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _database.setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
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
# Sign-in attempts are throttled (allauth's limits, spelled out here; the rest keep allauth's
# defaults). `login_failed` counts wrong passwords per IP and per address, and wrong TOTP codes
# per account. The counts live in the default cache, which is Redis whenever REDIS_URL is set
# (see CACHES), so every web process sees the same counts.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
}

# Single sign-on with the company's OpenID Connect provider (README, "Single sign-on"): Okta,
# Entra ID, Google Workspace, Keycloak, ... all through allauth's generic OpenID Connect
# provider. Nobody signs up: a sign-in is matched to a person the HRIS provisioned, by the
# claim PORTAL_OIDC_MATCH_CLAIM against their email or their external id (people.sso).
PORTAL_OIDC_ISSUER = (env_secret("PORTAL_OIDC_ISSUER") or "").rstrip("/")
PORTAL_OIDC_NAME = env_secret("PORTAL_OIDC_NAME") or "your company account"
PORTAL_OIDC_MATCH_BY = env_secret("PORTAL_OIDC_MATCH_BY") or "email"
if PORTAL_OIDC_MATCH_BY not in ("email", "external_id"):
    raise ImproperlyConfigured(
        f"PORTAL_OIDC_MATCH_BY must be email or external_id (got {PORTAL_OIDC_MATCH_BY!r})"
    )
PORTAL_OIDC_MATCH_CLAIM = env_secret("PORTAL_OIDC_MATCH_CLAIM") or (
    "email" if PORTAL_OIDC_MATCH_BY == "email" else "employee_number"
)
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": []}}
if PORTAL_OIDC_ISSUER:
    _oidc_client_id = env_secret("PORTAL_OIDC_CLIENT_ID")
    _oidc_client_secret = env_secret("PORTAL_OIDC_CLIENT_SECRET")
    if not _oidc_client_id or not _oidc_client_secret:
        raise ImproperlyConfigured(
            "PORTAL_OIDC_ISSUER is set: PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET (or "
            "PORTAL_OIDC_CLIENT_SECRET_FILE) are required too"
        )
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "SCOPE": (env_secret("PORTAL_OIDC_SCOPES") or "openid profile email").split(),
        "APPS": [
            {
                "provider_id": "company",  # callback: /accounts/oidc/company/login/callback/
                "name": PORTAL_OIDC_NAME,
                "client_id": _oidc_client_id,
                "secret": _oidc_client_secret,
                "settings": {"server_url": PORTAL_OIDC_ISSUER, "oauth_pkce_enabled": True},
            }
        ],
    }
SOCIALACCOUNT_ADAPTER = "people.sso.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the company's provider vouches for the address
SOCIALACCOUNT_STORE_TOKENS = False  # the portal signs people in; it never calls the provider
# Passwords off (PORTAL_PASSWORD_LOGIN=0): the password form, password reset and change are
# gone, the admin's too; everyone signs in with SSO (portal.signin).
PORTAL_PASSWORD_LOGIN = env_bool("PORTAL_PASSWORD_LOGIN", True)
if not PORTAL_PASSWORD_LOGIN and not PORTAL_OIDC_ISSUER:
    raise ImproperlyConfigured(
        "PORTAL_PASSWORD_LOGIN=0 needs single sign-on: set PORTAL_OIDC_ISSUER, "
        "PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET, or nobody can sign in"
    )

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_secret("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
# WhiteNoise serves static files from every web process. Without debug their names carry a
# content hash (cached for a year) and gzip copies: run `collectstatic` first (the image
# does). With debug (make run, the tests) files are served as they are, from static/.
DJANGO_STATIC_MANIFEST = env_bool("DJANGO_STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "portal.storage.StaticFilesStorage"  # WhiteNoise's compressed manifest
        if DJANGO_STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

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
EMAIL_HOST_USER = env_secret("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the first byte, usually port 465
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS (STARTTLS) or EMAIL_USE_SSL, not both")
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
# API: an Idempotency-Key's first response is replayed for this long (24 h, as Stripe does);
# the hourly prune (api.tasks.prune_idempotency) deletes older records and frees their keys.
PORTAL_IDEMPOTENCY_RETENTION_HOURS = env_int("PORTAL_IDEMPOTENCY_RETENTION_HOURS", 24)
# Request bodies up to 16 MB (Django's default is 2.5 MB): `POST /api/v1/proposals/bulk/`
# takes 10,000 proposals, about 3.5 MB with short role descriptions.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("PORTAL_MAX_REQUEST_BYTES", 16 * 1024 * 1024)
# The consent check (datause.checkcache): each web process answers from its own cache, which
# every change invalidates before it commits (api.coherence; needs REDIS_URL). Its reads are
# spooled per process into PORTAL_CHECK_LOG_DIR and counted into the access log every
# PORTAL_CHECK_LOG_FLUSH_SECONDS and at exit (datause.checklog; 0: only when asked, for tests).
PORTAL_CHECK_CACHE = env_bool("PORTAL_CHECK_CACHE", True)
PORTAL_CHECK_LOG_DIR = env_secret("PORTAL_CHECK_LOG_DIR", "") or str(VAR_DIR / "consent-check-log")
PORTAL_CHECK_LOG_FLUSH_SECONDS = env_int("PORTAL_CHECK_LOG_FLUSH_SECONDS", 2)

# Called (dotted paths, with employee, actor and now) inside the transaction that deactivates
# someone (people.services.deactivate_employee): the records floor cannot import workflows.
PEOPLE_DEACTIVATION_HOOKS = ["assignments.services.withdraw_open_proposals_on_deactivation"]

# Domain rules.
PORTAL_MIN_RESPONSE_WORKING_DAYS = env_int("PORTAL_MIN_RESPONSE_WORKING_DAYS", 5)
# How far ahead a response deadline or start date may lie (days from today); the database
# refuses anything beyond ten years in any case (assignments/migrations/0009).
PORTAL_MAX_HORIZON_DAYS = env_int("PORTAL_MAX_HORIZON_DAYS", 730)
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

# Private reasons are sealed with a data key per person, each wrapped by this master key
# (consent.crypto): one or more 32-byte keys in base64 (`openssl rand -base64 32`), the first
# wraps new data keys, the others only unwrap. It never goes into the database. With
# DJANGO_DEBUG and no key, consent.crypto generates one once into var/ledger-master-key;
# without DEBUG it is required.
PORTAL_LEDGER_MASTER_KEY = env_secret("PORTAL_LEDGER_MASTER_KEY", "") or ""
PORTAL_LEDGER_DEV_MASTER_KEY_FILE = (
    str(VAR_DIR / "ledger-master-key") if DEBUG and not PORTAL_LEDGER_MASTER_KEY.strip() else ""
)
if not PORTAL_LEDGER_MASTER_KEY.strip() and not DEBUG:
    raise ImproperlyConfigured(
        "PORTAL_LEDGER_MASTER_KEY is required when DJANGO_DEBUG is off: a 32-byte key in base64 "
        "that seals private reasons (set PORTAL_LEDGER_MASTER_KEY or "
        "PORTAL_LEDGER_MASTER_KEY_FILE; make one with `openssl rand -base64 32`)"
    )
# Where the scheduled signed checkpoints of the ledger's head are written (consent.tasks):
# mount it somewhere the database owner cannot write, or ship its files off the machine.
PORTAL_LEDGER_CHECKPOINT_DIR = env_secret("PORTAL_LEDGER_CHECKPOINT_DIR") or str(
    VAR_DIR / "ledger-checkpoints"
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

# HTTPS, headers and sessions (README, "Security headers"). Without debug the portal is served
# over HTTPS (DJANGO_SECURE_COOKIES=0 only for a plain-HTTP bench on loopback): secure
# `__Host-` cookies, a redirect to HTTPS, HSTS. Behind a TLS proxy, DJANGO_SECURE_PROXY_SSL_HEADER
# names the header it sets to "https" (e.g. X-Forwarded-Proto), and DJANGO_CSRF_TRUSTED_ORIGINS
# the origins people type (e.g. https://consent.example.com).
_HTTPS = not DEBUG and env_bool("DJANGO_SECURE_COOKIES", True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _HTTPS
if _HTTPS:
    # Browsers take a __Host- cookie only over HTTPS, for this exact host, path /.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", _HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # probes and scrapers inside the network
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
_proxy_header = (env_secret("DJANGO_SECURE_PROXY_SSL_HEADER") or "").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https") if _proxy_header else None
)
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in (env_secret("DJANGO_CSRF_TRUSTED_ORIGINS") or "").split(",") if o.strip()
]
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"DJANGO_CSRF_TRUSTED_ORIGINS takes origins with their scheme, e.g. "
            f"https://consent.example.com (got {_origin!r})"
        )
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Signed out after this many minutes without a request (sliding; portal.middleware).
PORTAL_SESSION_IDLE_MINUTES = env_int("PORTAL_SESSION_IDLE_MINUTES", 30)
if PORTAL_SESSION_IDLE_MINUTES < 1:
    raise ImproperlyConfigured("PORTAL_SESSION_IDLE_MINUTES must be at least 1")
# Content Security Policy (django-csp): scripts and styles only from the portal's own static
# files, no inline code, no framing. Images may be data: URIs (TOTP QR codes, the favicon).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Operations (README, "Operations"): Prometheus metrics at /metrics for whoever holds this
# token (unset: /metrics is a 404), and error reports to Sentry when SENTRY_DSN is set.
PORTAL_METRICS_TOKEN = env_secret("PORTAL_METRICS_TOKEN", "") or ""
SENTRY_DSN = env_secret("SENTRY_DSN", "") or ""
if SENTRY_DSN:
    from portal.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env_secret("SENTRY_ENVIRONMENT", "") or "",
        release=env_secret("SENTRY_RELEASE", "") or "",
    )


def _not_a_refusal(record) -> bool:
    """403 and 404 are answers the portal gives on purpose (another person's proposal is a
    404), not faults: Django would log each as a warning, a 403 with its traceback."""
    return getattr(record, "status_code", None) not in (403, 404)


def _not_the_filesystem_hostname_warning(record) -> bool:
    """kombu warns that `filesystem://` names no host: that transport has none."""
    return not str(record.msg).startswith("No hostname was supplied")


# JSON lines (portal.logging) without debug, plain text for `make run`; each carries request_id.
PORTAL_LOG_FORMAT = env_secret("PORTAL_LOG_FORMAT") or ("text" if DEBUG else "json")
if PORTAL_LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(
        f"PORTAL_LOG_FORMAT must be json or text (got {PORTAL_LOG_FORMAT!r})"
    )

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
        "request_id": {"()": "portal.logging.RequestIdFilter"},
    },
    "formatters": {
        "json": {"()": "portal.logging.PortalJsonFormatter"},
        "text": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": PORTAL_LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO" if DEBUG else "WARNING"},
    "loggers": {
        # Without this, Django's own handler prints every django.* record a second time.
        "django": {"level": "INFO" if DEBUG else "WARNING", "propagate": True},
        "django.request": {"filters": ["not_a_refusal"], "propagate": True},
        "django.server": {"level": "WARNING", "filters": ["not_a_refusal"], "propagate": True},
        "kombu.connection": {"filters": ["not_the_filesystem_hostname_warning"], "propagate": True},
        # One line per request (method, path without its query, status, time), in production.
        "portal.access": {"level": "WARNING" if DEBUG else "INFO", "propagate": True},
    },
}
