import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Before the first request: load what requests would load, and keep it out of the garbage
# collector's full passes (portal/heap.py).
from portal.heap import settle  # noqa: E402 (needs the settings loaded above)

settle()
