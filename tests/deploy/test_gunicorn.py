"""The production settings under gunicorn, debug off, behind a (pretend) TLS proxy: a page,
its hashed and compressed CSS from WhiteNoise, the headers, /metrics across two workers, and
JSON log lines carrying the request id."""

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.deploy.env import PYTHON, ROOT, free_port, production_env

GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
TOKEN = "scrape-token-for-tests"
VIA_PROXY = {"Host": "consent.example.test", "X-Forwarded-Proto": "https"}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to look at, never followed off the machine


_OPENER = urllib.request.build_opener(_NoRedirects)


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def served(django_db_setup, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gunicorn")
    env = production_env(
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        PORTAL_METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "prometheus"),
        GUNICORN_WORKERS="2",
    )
    collected = subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert collected.returncode == 0, collected.stderr[-2000:]
    port = free_port()
    log = (tmp / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [GUNICORN, "portal.wsgi:application", "--config", "portal/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--no-control-socket"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            _get(f"{base}/healthz")
            break
        except OSError:
            assert server.poll() is None, (tmp / "gunicorn.log").read_text()[-3000:]
            time.sleep(0.3)
    try:
        yield {"base": base, "log": tmp / "gunicorn.log", "static_root": tmp / "static"}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_a_page_and_its_hashed_css_are_served_with_debug_off(served):
    status, headers, body = _get(f"{served['base']}/accounts/login/", VIA_PROXY)
    assert status == 200, body[:500]
    page = body.decode()
    [css] = re.findall(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', page)
    status, css_headers, css_body = _get(served["base"] + css, VIA_PROXY)
    assert status == 200
    assert css_headers["Content-Type"].startswith("text/css")
    assert b".bell-icon" in css_body
    assert "immutable" in css_headers["Cache-Control"]  # a hashed name never changes
    status, gz_headers, _ = _get(served["base"] + css, {**VIA_PROXY, "Accept-Encoding": "gzip"})
    assert status == 200 and gz_headers.get("Content-Encoding") == "gzip"
    # The scripts the page names are files too (no inline script anywhere).
    assert "<script>" not in page and "<script " in page
    for script in re.findall(r'<script src="([^"]+)"', page):
        assert _get(served["base"] + script, VIA_PROXY)[0] == 200, script


def test_production_headers_and_host_cookies_behind_the_tls_proxy(served):
    status, headers, _ = _get(f"{served['base']}/accounts/login/", VIA_PROXY)
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store, private"
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("__Host-csrftoken=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    # Plain HTTP that did not come through the proxy is sent to HTTPS...
    status, headers, _ = _get(f"{served['base']}/accounts/login/", {"Host": "consent.example.test"})
    assert status == 301 and headers["Location"].startswith("https://consent.example.test/")
    # ...except the probes inside the network.
    assert _get(f"{served['base']}/healthz", {"Host": "consent.example.test"})[0] == 200


def test_metrics_add_up_both_workers_and_need_the_token(served):
    for _ in range(6):
        _get(f"{served['base']}/healthz", {"Host": "consent.example.test"})
    assert _get(f"{served['base']}/metrics")[0] == 401
    status, headers, body = _get(f"{served['base']}/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    counted = sum(
        float(m.group(1))
        for m in re.finditer(
            r'^portal_http_requests_total\{[^}]*status="200"[^}]*\} (\S+)$', text, re.M
        )
    )
    assert counted >= 6
    for series in (
        "portal_celery_queue_depth",
        "portal_sweep_lag_seconds",
        "portal_webhook_failures",
    ):
        assert series in text, series


def test_log_lines_are_json_with_the_request_id(served):
    status, headers, _ = _get(
        f"{served['base']}/healthz", {"Host": "consent.example.test", "X-Request-ID": "probe-123"}
    )
    assert headers["X-Request-ID"] == "probe-123"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [json.loads(x) for x in served["log"].read_text().splitlines() if x.startswith("{")]
        mine = [x for x in lines if x.get("request_id") == "probe-123"]
        if mine:
            break
        time.sleep(0.2)
    [line] = mine
    assert line["logger"] == "portal.access" and line["path"] == "/healthz"
    assert line["status"] == 200 and line["level"] == "INFO" and "time" in line
