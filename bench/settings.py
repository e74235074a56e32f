"""Settings for `make bench`: the portal's own, plus the floor view at /bench/floor and the
`seed_scale` command.

Using a separate settings module keeps both out of every normal deployment: the URL and the
command exist only in processes started with DJANGO_SETTINGS_MODULE=bench.settings.
"""

from portal.settings import *  # noqa: F403
from portal.settings import ALLOWED_HOSTS, INSTALLED_APPS

ROOT_URLCONF = "bench.urls"
# The in-process checks (query counts) use Django's test client, which calls itself testserver.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # for bench/management/commands/seed_scale.py
# The bench loads pages, never their CSS: static names without collectstatic's manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# One access line per request would bury the bench's own report under wrk's hundreds of
# thousands of requests; warnings and errors still print. Floors and pages are served alike.
LOGGING["loggers"]["portal.access"]["level"] = "WARNING"  # noqa: F405
# The bench measures speed, not the rate limit: a limit sized for one HRIS client would answer
# most of wrk's requests with 429. The throttle still runs (its Redis round trip is measured).
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"client": "100000000/min"},
}
