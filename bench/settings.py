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
