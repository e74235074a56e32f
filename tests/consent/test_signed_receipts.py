"""Signed receipts: every receipt is a Kantara v1.1 receipt extended with ISO/IEC TS 27560's
withdrawal method and event history, signed as a compact JWS (Ed25519, alg EdDSA, kid = the
RFC 7638 thumbprint) with keys published at /.well-known/jwks.json. The portal signs with
joserfc; every signature here is checked with jwcrypto, an independent JOSE library, and with
`manage.py verify_receipt`. Rotating the key keeps old receipts verifiable."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws
from jwcrypto.common import JWException

from assignments.services import opt_in, opt_out, withdraw_consent
from consent import crypto, signing
from notifications.models import Notification
from notifications.sending import send_notification
from tests.assignments.helpers import ROLE
from tests.conftest import WEB
from tests.consent.test_receipt_schema import errors_of

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REASON = "My partner works on that team; please keep this to yourself."


@pytest.fixture(scope="module")
def pems():
    return {"a": signing.generate_pem(), "b": signing.generate_pem()}


@pytest.fixture
def key_a(settings, pems):
    settings.PORTAL_RECEIPT_SIGNING_KEYS = pems["a"]
    return signing.current_key()


@pytest.fixture
def proposal(employee, manager, ai_team, deadline, start_date):
    from assignments.services import propose_transfer

    return propose_transfer(
        employee=employee,
        to_team=ai_team,
        actor=manager.user,
        role_description=ROLE,
        data_labelling_percent=40,
        start_date=start_date,
        response_deadline=deadline,
    )


@pytest.fixture
def decided(proposal, employee):
    """Eve opts in, then withdraws with a private reason: two records about one proposal."""
    first = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    second = withdraw_consent(
        proposal=proposal, actor=employee.user, context=WEB, private_reason=REASON
    )
    return first, second


def published(client) -> dict:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return json.loads(response.content)


def independent_verify(token: str, key_set: dict) -> tuple[dict, dict]:
    """jwcrypto, not the portal's joserfc: (protected header, payload)."""
    keys = jc_jwk.JWKSet.from_json(json.dumps(key_set))
    checked = jc_jws.JWS()
    checked.deserialize(token)
    header = checked.jose_header
    checked.verify(keys.get_key(header["kid"]), alg="EdDSA")
    return header, json.loads(checked.payload)


def download(client, record) -> str:
    client.force_login(record.subject)
    response = client.get(reverse("consent:receipt_jws", args=[record.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jose"
    assert f'filename="receipt-{record.pk}.jws"' in response["Content-Disposition"]
    return response.content.decode()


def verify_command(path, *extra) -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_receipt", str(path), *extra, stdout=out)
    return out.getvalue()


def verify_command_fails(path, *extra) -> str:
    from io import StringIO

    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_receipt", str(path), *extra, stdout=StringIO(), stderr=err)
    assert exit_.value.code == 1
    return err.getvalue()


def test_a_downloaded_receipt_verifies_with_an_independent_library(client, key_a, decided):
    record = decided[0]
    token = download(client, record)
    header, payload = independent_verify(token, published(client))
    assert header["alg"] == "EdDSA"
    assert header["kid"] == key_a.kid
    # The kid is the RFC 7638 thumbprint, recomputable by anyone from the public key.
    [published_key] = published(client)["keys"]
    assert jc_jwk.JWK(**published_key).thumbprint() == key_a.kid
    assert isinstance(header["iat"], int)
    assert payload["consentReceiptID"] == record.hash
    assert errors_of(payload) == []
    # The JWS carries exactly the JSON download.
    as_json = json.loads(client.get(reverse("consent:receipt_json", args=[record.pk])).content)
    assert payload == as_json


def test_the_json_and_the_jws_stay_valid_kantara_receipts_with_the_27560_extension(
    client, key_a, decided
):
    opted_in, withdrawn = decided
    client.force_login(withdrawn.subject)
    receipt = json.loads(client.get(reverse("consent:receipt_json", args=[withdrawn.pk])).content)
    assert errors_of(receipt) == []
    extension = receipt["x-consent-portal"]
    method = extension["withdrawalMethod"]
    assert method["url"].endswith(f"/proposals/{withdrawn.about_id}/")
    assert method["url"].startswith("http://testserver/")
    assert method["method"] == "one action" and method["actions"] == 1
    _header, signed = independent_verify(download(client, withdrawn), published(client))
    assert errors_of(signed) == []


def test_event_history_lists_the_records_in_order_and_never_the_reason(
    client, key_a, decided, outsider, proposal
):
    opted_in, withdrawn = decided
    token = download(client, withdrawn)
    _header, receipt = independent_verify(token, published(client))
    history = receipt["x-consent-portal"]["eventHistory"]
    assert history == [
        {
            "action": "opt_in",
            "time": opted_in.recorded_at.isoformat(),
            "recordHash": opted_in.hash,
        },
        {
            "action": "withdraw",
            "time": withdrawn.recorded_at.isoformat(),
            "recordHash": withdrawn.hash,
        },
    ]
    # A receipt is a snapshot: the opt-in's receipt ends at the opt-in.
    _header, earlier = independent_verify(download(client, opted_in), published(client))
    assert [e["action"] for e in earlier["x-consent-portal"]["eventHistory"]] == ["opt_in"]
    # The private reason is nowhere: not in the payload, not in the token.
    assert REASON not in json.dumps(receipt, ensure_ascii=False)
    assert REASON not in base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()
    assert receipt["x-consent-portal"]["privateReasonGiven"] is True


def test_another_persons_jws_is_a_404(client, key_a, decided, outsider, hr_user, manager):
    record = decided[0]
    url = reverse("consent:receipt_jws", args=[record.pk])
    assert url == f"/receipts/{record.pk}.jws"
    for who in (outsider.user, hr_user, manager.user):
        client.force_login(who)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to sign-in, nothing signed


def test_the_jwks_is_public_cacheable_and_holds_no_private_part(client, settings, pems):
    settings.PORTAL_RECEIPT_SIGNING_KEYS = pems["b"] + pems["a"]
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwk-set+json"
    assert "public" in response["Cache-Control"] and "max-age" in response["Cache-Control"]
    keys = json.loads(response.content)["keys"]
    assert len(keys) == 2
    for key in keys:
        assert "d" not in key
        assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA"
        assert not jc_jwk.JWK(**key).has_private
    assert "PRIVATE" not in response.content.decode()


def test_rotation_keeps_old_receipts_verifiable(client, settings, pems, decided, tmp_path):
    opted_in, withdrawn = decided
    settings.PORTAL_RECEIPT_SIGNING_KEYS = pems["a"]
    kid_a = signing.current_key().kid
    old = download(client, opted_in)
    # Rotate: B signs from now on, A is retired but still published.
    settings.PORTAL_RECEIPT_SIGNING_KEYS = pems["b"] + "\n" + pems["a"]
    kid_b = signing.current_key().kid
    assert kid_a != kid_b
    key_set = published(client)
    assert [key["kid"] for key in key_set["keys"]] == [kid_b, kid_a]
    header, payload = independent_verify(old, key_set)
    assert header["kid"] == kid_a and payload["consentReceiptID"] == opted_in.hash
    new = download(client, withdrawn)
    assert independent_verify(new, key_set)[0]["kid"] == kid_b
    # verify_receipt accepts both, from the settings' keys and offline from a saved JWKS.
    saved = tmp_path / "jwks.json"
    saved.write_text(json.dumps(key_set))
    for token, record, kid in ((old, opted_in, kid_a), (new, withdrawn, kid_b)):
        path = tmp_path / f"receipt-{record.pk}.jws"
        path.write_text(token)
        for extra in ((), ("--jwks", str(saved))):
            out = verify_command(path, *extra)
            assert out.startswith(f"receipt valid: {record.hash} signed by {kid} at ")
    # A key set without A (say, a portal that forgot it) names the unknown kid.
    without_a = tmp_path / "without-a.json"
    without_a.write_text(json.dumps({"keys": key_set["keys"][:1]}))
    error = verify_command_fails(tmp_path / f"receipt-{opted_in.pk}.jws", "--jwks", without_a)
    assert f"unknown kid {kid_a}" in error


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    receipt = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    receipt["x-consent-portal"]["action"] = "opt_in"
    receipt["piiPrincipalId"] = "someone-else@example.test"
    forged = base64.urlsafe_b64encode(json.dumps(receipt).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_tampered_receipt_fails(client, key_a, decided, tmp_path):
    token = download(client, decided[1])
    forged = _tampered(token)
    with pytest.raises(JWException):
        independent_verify(forged, published(client))
    with pytest.raises(signing.InvalidReceipt, match="bad signature"):
        signing.verify(forged)
    path = tmp_path / "forged.jws"
    path.write_text(forged)
    assert "bad signature" in verify_command_fails(path)


def test_verify_receipt_says_what_is_wrong(key_a, tmp_path):
    not_jws = tmp_path / "letter.txt"
    not_jws.write_text("Dear works council, please find my receipt attached.")
    assert "not a JWS" in verify_command_fails(not_jws)
    not_a_receipt = tmp_path / "other.jws"
    not_a_receipt.write_text(signing.sign({"hello": "world"}))
    assert "not a Kantara consent receipt" in verify_command_fails(not_a_receipt)
    assert "cannot read" in verify_command_fails(tmp_path / "missing.jws")


def test_the_receipt_email_carries_the_signed_receipt(client, key_a, proposal, employee):
    mail.outbox.clear()
    record = opt_out(proposal=proposal, actor=employee.user, context=WEB, private_reason=REASON)
    notice = Notification.objects.get(dedupe_key=f"decision_receipt:{record.pk}")
    assert send_notification(notice.pk).status == "sent"
    [message] = [m for m in mail.outbox if m.to == [employee.email]]
    [(name, content, mimetype)] = message.attachments
    assert name == f"receipt-{record.pk}.jws" and mimetype == "application/jose"
    token = content.decode() if isinstance(content, bytes) else content
    header, receipt = independent_verify(token, published(client))
    assert header["kid"] == key_a.kid
    assert receipt["consentReceiptID"] == record.hash
    assert errors_of(receipt) == []
    assert REASON not in json.dumps(receipt, ensure_ascii=False)
    # Links point at the portal's own address, as every email does.
    history = receipt["x-consent-portal"]["eventHistory"]
    assert [e["recordHash"] for e in history] == [record.hash]
    assert receipt["x-consent-portal"]["withdrawalMethod"]["url"].startswith("http")
    # The whole message still renders (MIME, attachment and all).
    assert b"receipt-" in message.message().as_bytes()


def test_other_notices_carry_no_attachment(key_a, proposal, employee):
    mail.outbox.clear()
    arrived = Notification.objects.get(
        recipient=employee.user, kind=Notification.Kind.PROPOSAL_ARRIVED
    )
    assert send_notification(arrived.pk).status == "sent"
    assert all(not m.attachments for m in mail.outbox)


def test_the_development_key_is_generated_once(tmp_path):
    path = tmp_path / "var" / "receipt-signing-key.pem"
    signing._keys_from.cache_clear()
    first = signing._keys_from("", str(path))
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    signing._keys_from.cache_clear()
    again = signing._keys_from("", str(path))
    assert [k.kid for k in first] == [k.kid for k in again]
    signing._keys_from.cache_clear()


def test_a_key_that_is_not_ed25519_is_refused(settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.core.exceptions import ImproperlyConfigured

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings.PORTAL_RECEIPT_SIGNING_KEYS = other.decode()
    with pytest.raises(ImproperlyConfigured, match="not an Ed25519 key"):
        signing.keys()


def _start(extra: dict) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PORTAL_RECEIPT_SIGNING_KEYS") and k != "DJANGO_DEBUG"
    }
    env.update(DJANGO_SECRET_KEY="refusal-test", DJANGO_DEBUG="0", **extra)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_debug_and_without_a_key_the_portal_refuses_to_start(pems, tmp_path):
    refused = _start({})
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "PORTAL_RECEIPT_SIGNING_KEYS is required when DJANGO_DEBUG is off" in refused.stderr
    key_file = tmp_path / "receipt-keys.pem"
    key_file.write_text(pems["a"])
    ledger_key = crypto.generate_master_key()  # required too (tests/consent/test_encryption.py)
    started = _start(
        {"PORTAL_RECEIPT_SIGNING_KEYS_FILE": str(key_file), "PORTAL_LEDGER_MASTER_KEY": ledger_key}
    )
    assert started.returncode == 0
