"""Settings for `make bench`: the portal's own, plus the floor view at /bench/floor.

Using a separate settings module keeps the floor out of every normal deployment: the URL
exists only in processes started with DJANGO_SETTINGS_MODULE=bench.settings.
"""

from portal.settings import *  # noqa: F403
from portal.settings import ALLOWED_HOSTS

ROOT_URLCONF = "bench.urls"
# The in-process checks (query counts) use Django's test client, which calls itself testserver.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
