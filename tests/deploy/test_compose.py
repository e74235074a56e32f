"""docker-compose.yml and the Dockerfile, read as files (no Docker engine runs here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_migrations_run_once_as_the_owner_before_anything_else_starts():
    migrate = SERVICES["migrate"]
    assert migrate["restart"] == "no"
    assert "manage.py migrate" in migrate["command"]
    assert "grant_app_role --role portal_app" in migrate["command"]
    assert migrate["environment"]["DATABASE_MIGRATE_URL"].startswith("postgres://portal_owner:")
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_web_worker_and_beat_connect_as_the_application_role():
    for name in ("web", "worker", "beat"):
        environment = SERVICES[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://portal_app:"), name
        assert "DATABASE_MIGRATE_URL" not in environment, name
        assert environment["PORTAL_PRODUCTION"] == "1"
    assert SERVICES["postgres"]["environment"]["POSTGRES_USER"] == "portal_owner"


def test_every_long_running_service_has_a_health_check():
    for name in ("web", "worker", "beat", "postgres", "redis"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(SERVICES["worker"]["healthcheck"]["test"])
    assert "celerybeat-schedule" in " ".join(SERVICES["beat"]["healthcheck"]["test"])


def test_the_tls_proxy_smtp_and_secrets_come_from_the_environment():
    environment = SERVICES["web"]["environment"]
    for name in (
        "DJANGO_CSRF_TRUSTED_ORIGINS",
        "DJANGO_SECURE_PROXY_SSL_HEADER",
        "EMAIL_HOST",
        "EMAIL_HOST_USER",
        "EMAIL_HOST_PASSWORD",
        "EMAIL_USE_TLS",
        "DJANGO_SECRET_KEY",
        "PORTAL_RECEIPT_SIGNING_KEYS",
        "PORTAL_METRICS_TOKEN",
    ):
        assert environment[name].startswith("${"), name  # never a value in the repository
    assert "check --deploy" in SERVICES["web"]["command"]
    assert "gunicorn" in SERVICES["web"]["command"]
    assert SERVICES["beat"]["deploy"]["replicas"] == 1
    # The ledger's checkpoints land on a volume the database container never mounts.
    assert "ledger-checkpoints:/checkpoints" in SERVICES["worker"]["volumes"]
    assert "volumes" not in SERVICES["postgres"] or not any(
        "checkpoints" in v for v in SERVICES["postgres"]["volumes"]
    )


def test_the_image_installs_every_app_and_collects_hashed_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in dockerfile.splitlines()]
    copy_all, install = lines.index("COPY . ."), lines.index("RUN pip install --no-cache-dir .")
    assert copy_all < install  # every package pyproject.toml names is there to install
    assert "DJANGO_STATIC_MANIFEST=1 python manage.py collectstatic" in dockerfile
    assert "ENV PORTAL_PRODUCTION=1" in dockerfile
    assert dockerfile.index("collectstatic") < dockerfile.index("ENV PORTAL_PRODUCTION=1")
    assert "USER portal" in dockerfile
    pyproject = (ROOT / "pyproject.toml").read_text()
    for app in ("whitenoise", "django-csp", "prometheus-client", "sentry-sdk"):
        assert app in pyproject, app
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in dockerignore and ".git" in dockerignore
