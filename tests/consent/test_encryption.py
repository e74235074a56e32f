"""Private reasons are sealed at rest with a key per person: no dump, column or role but the
person's own reads them, and erasing the key erases them while the ledger still verifies."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from assignments.services import opt_in, opt_out, propose_transfer, withdraw_consent
from consent import crypto
from consent.ledger import verify_chain
from consent.models import ConsentRecord, SubjectKey
from consent.selectors import private_reason_of, private_reasons_of
from consent.services import erase_private_reasons
from tests.assignments.helpers import ROLE
from tests.conftest import WEB

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
REASON = "canary-7f3a: my manager shouts at the team"


@pytest.fixture
def reason_record(proposal, employee):
    return opt_out(proposal=proposal, actor=employee.user, context=WEB, private_reason=REASON)


def rows_containing(needle: str) -> list[str]:
    """Every text-like column of every table in the database that holds `needle`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = 'public'
                 AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea')"""
        )
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE position(%s in "{column}"::text) > 0',
                [needle],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def test_no_column_of_any_table_holds_the_reason(reason_record, employee):
    assert rows_containing("canary-7f3a") == []
    # It is there, sealed, and it opens for the person.
    assert reason_record.reason_ciphertext.startswith(crypto.SEALED_PREFIX)
    assert rows_containing(reason_record.reason_ciphertext) == [
        "consent_consentrecord.reason_ciphertext"
    ]
    stored = ConsentRecord.objects.get(pk=reason_record.pk)
    assert private_reason_of(stored, employee.user) == REASON


@pytest.mark.django_db(transaction=True)
def test_a_full_pg_dump_reveals_no_reason(proposal, employee):
    record = opt_out(proposal=proposal, actor=employee.user, context=WEB, private_reason=REASON)
    db = connection.settings_dict
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432),
         "-U", db["USER"], db["NAME"]],
        env={**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert dump.returncode == 0, dump.stderr
    assert record.reason_ciphertext in dump.stdout  # the dump does hold the ledger row
    assert "canary-7f3a" not in dump.stdout


def test_only_the_subject_reads_their_reason(reason_record, employee, manager, hr_user, outsider):
    root = get_user_model().objects.create_superuser("root", "root@example.test", "pw")
    for reader in (manager.user, hr_user, outsider.user, root, None):
        assert private_reason_of(reason_record, reader) == ""
    assert private_reason_of(reason_record, employee.user) == REASON


def test_the_receipt_page_shows_the_reason_to_the_person_and_nobody_else(
    client, reason_record, employee, manager, hr_user
):
    url = f"/receipts/{reason_record.pk}/"
    client.force_login(employee.user)
    assert REASON in client.get(url).content.decode()
    for other in (manager.user, hr_user):
        client.force_login(other)
        response = client.get(url)
        assert response.status_code == 404
        assert REASON not in response.content.decode()


def test_each_person_has_their_own_key_and_a_sealed_reason_opens_only_on_its_own_record(
    reason_record, employee, outsider, ai_team, deadline, start_date
):
    other = propose_transfer(
        employee=outsider,
        to_team=ai_team,
        actor=outsider.user,
        role_description=ROLE,
        data_labelling_percent=40,
        start_date=start_date,
        response_deadline=deadline,
    )
    theirs = opt_out(proposal=other, actor=outsider.user, context=WEB, private_reason="mine")
    assert theirs.reason_key_id != reason_record.reason_key_id
    assert SubjectKey.objects.count() == 2
    key = SubjectKey.objects.get(pk=theirs.reason_key_id)
    data_key = crypto.unwrap(
        key.wrapped, subject_id=outsider.user.pk, master_key_id=key.master_key_id
    )
    # Eve's ciphertext pasted onto Oscar's record, under Oscar's key: it does not open.
    with pytest.raises(crypto.ReasonUnreadable):
        crypto.open_sealed(
            reason_record.reason_ciphertext,
            data_key=data_key,
            subject_id=outsider.user.pk,
            key_id=key.pk,
        )


def test_a_second_reason_uses_the_same_key(proposal, employee):
    first = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    second = withdraw_consent(
        proposal=proposal, actor=employee.user, context=WEB, private_reason="second thoughts"
    )
    assert not first.reason_given and first.reason_key_id is None
    assert second.reason_given and SubjectKey.objects.count() == 1
    # The same length class: a reason's length is padded, so a short and a longer one look alike.
    assert len(second.reason_ciphertext) == len(
        crypto.seal("x", data_key=os.urandom(32), subject_id=1, key_id=1)
    )


def test_erasing_the_key_erases_the_reason_and_the_ledger_still_verifies(
    client, reason_record, employee, capsys
):
    employee.external_id = "E-1042"
    employee.save(update_fields=["external_id"])
    call_command("erase_private_reasons", "--employee", "E-1042")
    assert "erased 1 data keys" in capsys.readouterr().out
    stored = ConsentRecord.objects.get(pk=reason_record.pk)
    assert stored.reason_ciphertext == reason_record.reason_ciphertext  # the ledger is untouched
    assert private_reason_of(stored, employee.user) == ""
    assert SubjectKey.objects.get().wrapped in (b"", memoryview(b""))
    assert verify_chain().intact
    call_command("verify_ledger")
    assert "ledger intact" in capsys.readouterr().out
    client.force_login(employee.user)
    page = client.get(f"/receipts/{reason_record.pk}/").content.decode()
    assert "Erased: nobody can read it any more" in page and REASON not in page


def test_after_an_erasure_a_new_reason_gets_a_new_key(
    reason_record, employee, ai_team, manager, deadline, start_date
):
    erase_private_reasons(subject=employee.user)
    again = propose_transfer(
        employee=employee,
        to_team=ai_team,
        actor=manager.user,
        role_description=ROLE,
        data_labelling_percent=40,
        start_date=start_date,
        response_deadline=deadline,
    )
    later = opt_out(proposal=again, actor=employee.user, context=WEB, private_reason="new words")
    assert later.reason_key_id != reason_record.reason_key_id
    assert private_reason_of(later, employee.user) == "new words"
    assert private_reason_of(ConsentRecord.objects.get(pk=reason_record.pk), employee.user) == ""


def test_erasing_an_unknown_employee_is_a_clear_error(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no employee with external id 'nobody'"):
        call_command("erase_private_reasons", "--employee", "nobody")


def test_a_missing_master_key_is_named_not_guessed(reason_record, employee, settings):
    settings.PORTAL_LEDGER_MASTER_KEY = crypto.generate_master_key()
    key = SubjectKey.objects.get()
    with pytest.raises(ImproperlyConfigured, match=f"master key {key.master_key_id} is not"):
        private_reason_of(reason_record, employee.user)


def test_a_bad_master_key_setting_is_refused(settings):
    settings.PORTAL_LEDGER_MASTER_KEY = "dG9vIHNob3J0"  # "too short"
    with pytest.raises(ImproperlyConfigured, match="is 9 bytes, not 32"):
        crypto.master_keys()


def test_without_debug_and_without_a_master_key_the_portal_refuses_to_start(tmp_path):
    from consent import signing

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_LEDGER_MASTER_KEY", "DJANGO_DEBUG"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="refusal-test",
        PORTAL_RECEIPT_SIGNING_KEYS=signing.generate_pem(),
    )

    def start(extra):
        return subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = start({})
    assert refused.returncode != 0
    assert "PORTAL_LEDGER_MASTER_KEY is required when DJANGO_DEBUG is off" in refused.stderr
    secret = tmp_path / "ledger-master-key"
    secret.write_text(crypto.generate_master_key() + "\n")
    assert start({"PORTAL_LEDGER_MASTER_KEY_FILE": str(secret)}).returncode == 0


def test_rotating_the_master_key_rewraps_data_keys_and_reasons_still_open(
    reason_record, employee, settings, capsys
):
    old = (
        settings.PORTAL_LEDGER_MASTER_KEY
        or Path(settings.PORTAL_LEDGER_DEV_MASTER_KEY_FILE).read_text().strip()
    )
    new = crypto.generate_master_key()
    settings.PORTAL_LEDGER_MASTER_KEY = f"{new} {old}"
    call_command("rewrap_subject_keys")
    assert "re-wrapped 1 data keys" in capsys.readouterr().out
    settings.PORTAL_LEDGER_MASTER_KEY = new  # the old key is gone
    assert private_reason_of(reason_record, employee.user) == REASON
    assert verify_chain().intact


def test_many_reasons_open_with_one_query_and_only_the_readers_own(
    reason_record, employee, outsider, ai_team, deadline, start_date, django_assert_num_queries
):
    other = propose_transfer(
        employee=outsider,
        to_team=ai_team,
        actor=outsider.user,
        role_description=ROLE,
        data_labelling_percent=40,
        start_date=start_date,
        response_deadline=deadline,
    )
    theirs = opt_out(proposal=other, actor=outsider.user, context=WEB, private_reason="oscar's")
    records = list(ConsentRecord.objects.order_by("seq"))
    with django_assert_num_queries(1):  # the reader's data keys
        reasons = private_reasons_of(records, employee.user)
    assert reasons == {reason_record.pk: REASON, theirs.pk: ""}
