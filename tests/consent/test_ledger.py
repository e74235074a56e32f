import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from assignments.services import opt_in, withdraw_consent
from consent.ledger import verify_chain
from consent.models import GENESIS_HASH, ConsentRecord, LedgerImmutableError
from tests.conftest import WEB

pytestmark = pytest.mark.django_db


def tamper(sql, params=()):
    """What a database owner can do: switch the trigger off, change the ledger, switch it on."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush pending FK checks before ALTER
        cursor.execute(
            "ALTER TABLE consent_consentrecord DISABLE TRIGGER consent_ledger_append_only"
        )
        cursor.execute(sql, params)
        cursor.execute(
            "ALTER TABLE consent_consentrecord ENABLE TRIGGER consent_ledger_append_only"
        )


@pytest.fixture
def two_records(proposal, employee):
    first = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    second = withdraw_consent(
        proposal=proposal, actor=employee.user, context=WEB, private_reason="changed my mind"
    )
    return first, second


def test_records_link_to_the_one_before(two_records):
    first, second = two_records
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert len({first.hash, second.hash}) == 2


def test_saving_a_changed_record_is_refused_by_the_model(two_records):
    first, _ = two_records
    first.action = ConsentRecord.Action.OPT_OUT
    with pytest.raises(LedgerImmutableError):
        first.save()
    with pytest.raises(LedgerImmutableError):
        first.delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_consentrecord SET action = 'opt_out'",
        "UPDATE consent_consentrecord SET reason_ciphertext = ''",
        "DELETE FROM consent_consentrecord",
    ],
)
def test_the_database_rejects_update_and_delete_even_in_raw_sql(two_records, statement):
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert ConsentRecord.objects.count() == 2
    assert verify_chain().intact


def test_bulk_queryset_updates_are_rejected_too(two_records):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.update(action="opt_out")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.all().delete()


def test_verify_ledger_reports_an_intact_chain(two_records, capsys):
    call_command("verify_ledger")
    assert "ledger intact: 2 records verified" in capsys.readouterr().out


def test_verify_ledger_names_a_row_altered_behind_the_triggers_back(two_records):
    """A database owner can disable the trigger; the hash chain still gives them away."""
    first, second = two_records
    tamper("UPDATE consent_consentrecord SET action = 'opt_out' WHERE id = %s", [first.pk])
    with pytest.raises(CommandError, match=f"ledger broken at record {first.pk}: its content"):
        call_command("verify_ledger")


def test_verify_ledger_names_the_link_after_a_deleted_row(two_records):
    first, second = two_records
    tamper("DELETE FROM consent_consentrecord WHERE id = %s", [first.pk])
    report = verify_chain()
    assert report.first_broken_id == second.pk
    assert "previous-hash link" in report.problem


def test_verify_ledger_exits_non_zero_from_the_shell(two_records):
    from django.core.management import ManagementUtility

    tamper("UPDATE consent_consentrecord SET reason_ciphertext = 'x'")
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "verify_ledger"]).execute()
    assert exit_info.value.code == 1


def test_one_chain_writer_links_what_the_services_wrote_identically(two_records):
    """The seeder streams its records through the same `Chain` the services use: re-linking
    the stored records from the genesis hash gives exactly the stored links."""
    from consent.ledger import HASHED_FIELDS, Chain

    chain = Chain()
    for row in ConsentRecord.objects.order_by("id").values(*HASHED_FIELDS, "hash"):
        stored_prev, stored_hash = row["prev_hash"], row.pop("hash")
        linked = chain.append(row)
        assert (linked["prev_hash"], linked["hash"]) == (stored_prev, stored_hash)
    assert chain.head == ConsentRecord.objects.order_by("-id").first().hash
