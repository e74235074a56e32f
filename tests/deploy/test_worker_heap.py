"""A web worker settles its heap when it loads the portal (portal/heap.py): the views are
imported and the templates compiled before the first request, and what exists then is kept out
of the garbage collector's full passes, which otherwise paused a large dashboard for 70-110 ms
every few requests."""

import json
import subprocess

from tests.deploy.env import PYTHON, ROOT, production_env

PROBE = """
import gc, json
from wsgiref.util import setup_testing_defaults
import portal.wsgi
from django.template import engines
frozen, tracked = gc.get_freeze_count(), len(gc.get_objects())
[cached] = engines["django"].engine.template_loaders  # Django's cached loader
environ = {"PATH_INFO": "/healthz", "HTTP_HOST": "127.0.0.1"}
setup_testing_defaults(environ)
answer = []
body = b"".join(portal.wsgi.application(environ, lambda status, headers: answer.append(status)))
gc.collect()
print(json.dumps({
    "frozen": frozen, "tracked_before": tracked, "tracked_after": len(gc.get_objects()),
    "status": answer[0], "body": body.decode()[:300], "templates": len(cached.get_template_cache),
}))
"""


def test_the_wsgi_module_freezes_a_loaded_worker_before_its_first_request(db):
    done = subprocess.run(
        [PYTHON, "-c", PROBE], cwd=ROOT, env=production_env(DJANGO_SSL_REDIRECT="0"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["status"] == "200 OK", json.dumps(seen)
    assert seen["templates"] > 100  # every template of templates/, compiled
    # Django, the views and the compiled templates are all frozen: well over 100,000 objects.
    assert seen["frozen"] > 100_000
    # Nothing is left for the collector to walk on every full pass, and after a first request
    # (the database connection, the broker's client) a few thousand objects: a full pass
    # walks those, not the 185,000 or so of a loaded Django.
    assert seen["tracked_before"] < 1_000
    assert seen["tracked_after"] < 20_000
