"""schemathesis, an independent checker, against /api/schema/ on a live server.

It generates requests from the schema (valid and invalid) for every operation, with a key that
holds every scope, and checks: no server error, every response matches its documented schema,
status code and content type. Seed rows exist so that most operations can reach a 2xx.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from api.keys import create_key
from api.scopes import SCOPES

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_response_outside_the_schema(
    live_server, transactional_db, tmp_path, proposal, employee, monkeypatch
):
    from api.throttling import PerClientRateThrottle

    monkeypatch.setattr(PerClientRateThrottle, "THROTTLE_RATES", {"client": "100000/min"})
    employee.external_id = "E-1001"
    employee.save(update_fields=["external_id"])
    _, secret = create_key(name="schemathesis", scopes=list(SCOPES))
    report = tmp_path / "report.json"
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    started = timezone.now()
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")),
            "run",
            f"{live_server.url}/api/schema/?format=json",
            "--url",
            live_server.url,
            "--checks",
            CHECKS,
            "--header",
            f"Authorization: Bearer {secret}",
            "--max-examples",
            "25",
            "--generation-deterministic",
            "--continue-on-failure",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout[-6000:]
    print(summary)
    assert result.returncode == 0, summary + result.stderr[-2000:]
    assert (timezone.now() - started).total_seconds() < 600
    if report.exists():
        json.loads(report.read_text())  # a readable report for the closing note
