"""gunicorn's settings for the image (docker-compose's `web`): `gunicorn portal.wsgi -c
portal/gunicorn.conf.py`.

The portal logs each request itself (JSON, with its request id), so gunicorn's access log
is off. With PROMETHEUS_MULTIPROC_DIR set, each worker writes its counters there and /metrics
adds them up; the folder is emptied at start and a dead worker's gauges are dropped.
"""

import os
import shutil

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = None
errorlog = "-"


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
