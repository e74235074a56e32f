"""A pytest plugin: every pytest-xdist worker on its own Redis database.

pytest-django already gives each worker its own PostgreSQL database (test_<name>_gw0, ...).
Redis needs the same, or one worker's Celery broker, cache and rate limits are read and
flushed by another: worker gwK uses database d+K, where d is REDIS_URL's own number. It has
to run before pytest-django reads the settings, so `make test` loads it with `-p tests.workers`
(`python -m pytest`, which has the checkout on its path) instead of from a conftest.
"""

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # Redis's default `databases`


def redis_url_for_worker(redis_url: str, worker: int) -> str:
    parts = urlsplit(redis_url)
    database = int(parts.path.strip("/") or 0) + worker
    if database >= REDIS_DATABASES:
        raise SystemExit(
            f"test worker {worker} would use Redis database {database}, but Redis has "
            f"{REDIS_DATABASES}: lower TEST_WORKERS or the number at the end of TEST_REDIS_URL"
        )
    return urlunsplit(parts._replace(path=f"/{database}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... set before plugins load
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], int(_worker[2:]))
