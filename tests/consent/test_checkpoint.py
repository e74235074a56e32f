"""Signed checkpoints catch what the hash chain cannot: the database owner rewriting from one
record onward, deleting the newest records, or truncating the ledger. verify_ledger also
cross-checks each proposal's state against its latest ledger action."""

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from jwcrypto import jwk, jws

from assignments.models import Proposal
from assignments.services import opt_in, opt_out, propose_transfer, withdraw_consent
from consent import checkpoints, signing
from consent.ledger import HASHED_FIELDS, Chain, verify_chain
from consent.models import ConsentRecord
from portal.celery import app
from tests.assignments.helpers import ROLE
from tests.conftest import WEB, make_person

pytestmark = pytest.mark.django_db


def owner_sql(*statements):
    """What the database owner can do: switch the trigger off, run SQL, switch it on."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "ALTER TABLE consent_consentrecord DISABLE TRIGGER consent_ledger_append_only"
        )
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "ALTER TABLE consent_consentrecord ENABLE TRIGGER consent_ledger_append_only"
        )


@pytest.fixture
def ledger(platform, ai_team, manager, deadline, start_date):
    """Five decisions by five people, none of them referenced by a move."""
    records = []
    for n in range(5):
        person = make_person(f"p{n}@example.test", f"Person {n}", platform, manager=manager)
        proposal = propose_transfer(
            employee=person,
            to_team=ai_team,
            actor=manager.user,
            role_description=ROLE,
            data_labelling_percent=40,
            start_date=start_date,
            response_deadline=deadline,
        )
        records.append(opt_out(proposal=proposal, actor=person.user, context=WEB))
    return records


@pytest.fixture
def checkpoint_file(ledger, tmp_path, capsys):
    path = tmp_path / "checkpoint.jws"
    call_command("checkpoint_ledger", "--out", str(path))
    assert f"checkpoint written to {path}: 5 records, head 5" in capsys.readouterr().out
    return path


def verify_with(*paths):
    call_command("verify_ledger", *[f"--checkpoint={p}" for p in paths])


def test_the_checkpoint_is_a_jws_an_auditor_verifies_offline(checkpoint_file, ledger, client):
    keys = jwk.JWKSet.from_json(client.get("/.well-known/jwks.json").content)
    token = jws.JWS()
    token.deserialize(checkpoint_file.read_text().strip())
    token.verify(keys)  # an independent JOSE library, the published keys, no database
    payload = json.loads(token.payload)
    assert payload["type"] == "consent-ledger-checkpoint"
    assert (payload["seq"], payload["count"]) == (5, 5)
    assert payload["hash"] == ledger[-1].hash and payload["at"]


def test_an_untouched_ledger_agrees_with_its_checkpoint_and_may_grow(
    checkpoint_file, ledger, employee, proposal, capsys
):
    verify_with(checkpoint_file)
    assert "ledger intact: 5 records verified; 1 checkpoints agree" in capsys.readouterr().out
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    verify_with(checkpoint_file)
    assert "6 records verified" in capsys.readouterr().out


def test_a_rewrite_from_one_record_onward_is_caught(checkpoint_file, ledger):
    """The owner changes record 3 and recomputes every hash after it: the chain verifies, the
    checkpoint does not."""
    start = ledger[2]
    rows = list(
        ConsentRecord.objects.filter(seq__gte=start.seq)
        .order_by("seq")
        .values(*HASHED_FIELDS, "id")
    )
    chain = Chain(ledger[1].hash, ledger[1].seq)
    statements = []
    for row in rows:
        row_id = row.pop("id")
        if row_id == start.pk:
            row["action"] = ConsentRecord.Action.OPT_IN
        linked = chain.append(row)
        statements.append(
            (
                "UPDATE consent_consentrecord SET action = %s, prev_hash = %s, hash = %s "
                "WHERE id = %s",
                [linked["action"], linked["prev_hash"], linked["hash"], row_id],
            )
        )
    owner_sql(*statements)
    assert verify_chain().intact  # the chain alone is fooled
    with pytest.raises(CommandError, match=r"ledger rewritten: record \d+ \(sequence number 5\)"):
        verify_with(checkpoint_file)


def test_a_missing_tail_is_caught(checkpoint_file, ledger):
    owner_sql(("DELETE FROM consent_consentrecord WHERE seq >= %s", [4]))
    assert verify_chain().intact
    with pytest.raises(CommandError, match="missing tail: the ledger ends at sequence number 3"):
        verify_with(checkpoint_file)


def test_a_truncation_is_caught(checkpoint_file, ledger):
    owner_sql(("TRUNCATE consent_consentrecord CASCADE", []))
    assert verify_chain().intact  # an empty chain is a valid chain
    with pytest.raises(CommandError, match="ledger truncated: it is empty, but the checkpoint"):
        verify_with(checkpoint_file)


def test_a_deleted_tail_replaced_by_new_records_is_caught(
    checkpoint_file, ledger, employee, proposal
):
    owner_sql(("DELETE FROM consent_consentrecord WHERE seq >= %s", [4]))
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    withdraw_consent(proposal=proposal, actor=employee.user, context=WEB)
    assert ConsentRecord.objects.count() == 5 and verify_chain().intact
    with pytest.raises(CommandError, match="ledger rewritten"):
        verify_with(checkpoint_file)


def test_the_database_still_refuses_update_and_delete_without_the_owner(ledger):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(seq=5).delete()


def test_a_forged_or_foreign_checkpoint_is_refused(checkpoint_file, ledger, tmp_path):
    header, payload, signature = checkpoint_file.read_text().strip().split(".")
    forged = tmp_path / "forged.jws"
    forged.write_text(f"{header}.{payload[:-4]}AAAA.{signature}")
    with pytest.raises(CommandError, match="checkpoint invalid: .*forged.jws"):
        verify_with(forged)
    not_one = tmp_path / "not-a-checkpoint.jws"
    not_one.write_text(signing.sign_json({"type": "something else"}, cty="json"))
    with pytest.raises(CommandError, match="neither a ledger checkpoint nor a receipt"):
        verify_with(not_one)


def test_a_directory_of_checkpoints_is_checked_file_by_file(ledger, tmp_path, settings, capsys):
    settings.PORTAL_LEDGER_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    call_command("checkpoint_ledger")
    from consent.tasks import write_ledger_checkpoint

    written = Path(write_ledger_checkpoint())  # the beat task, run as the worker would
    assert written.parent == tmp_path / "checkpoints" and written.suffix == ".jws"
    capsys.readouterr()
    verify_with(tmp_path / "checkpoints")
    assert "2 checkpoints agree" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no checkpoint files in"):
        verify_with(tmp_path / "empty")
    with pytest.raises(CommandError, match="cannot read .*missing.jws: No such file"):
        verify_with(tmp_path / "missing.jws")


def test_beat_writes_a_checkpoint_every_hour():
    entry = app.conf.beat_schedule["checkpoint-ledger"]
    assert entry["task"] == "consent.tasks.write_ledger_checkpoint"
    assert "consent.tasks.write_ledger_checkpoint" in app.tasks


def test_every_emailed_receipt_names_the_head_and_serves_as_a_checkpoint(ledger, tmp_path):
    token = signing.signed_receipt(ledger[-1])  # what notifications attaches to the email
    receipt = signing.verify(token).receipt
    head = receipt["x-consent-portal"]["ledgerHead"]
    assert (head["seq"], head["hash"]) == (5, ledger[-1].hash)
    path = tmp_path / "receipt.jws"
    path.write_text(token)
    verify_with(path)
    owner_sql(("DELETE FROM consent_consentrecord WHERE seq = %s", [5]))
    with pytest.raises(CommandError, match="missing tail"):
        verify_with(path)


def test_a_proposal_state_the_ledger_does_not_explain_is_named(ledger, proposal):
    call_command("verify_ledger")
    # Opted in by a direct UPDATE, with no opt-in record in the ledger.
    Proposal.objects.filter(pk=proposal.pk).update(state=Proposal.State.OPTED_IN)
    with pytest.raises(
        CommandError,
        match=f"proposal {proposal.pk} is opted_in, but the ledger has no record of it",
    ):
        call_command("verify_ledger")
    decided = Proposal.objects.get(pk=int(ledger[0].about_id))
    Proposal.objects.filter(pk=decided.pk).update(state=Proposal.State.EFFECTIVE)
    with pytest.raises(
        CommandError,
        match=f"proposal {decided.pk} is effective, but its latest ledger action is opt_out",
    ):
        call_command("verify_ledger")


def test_the_checkpoint_counts_records_in_two_queries(ledger, django_assert_num_queries):
    with django_assert_num_queries(2):  # the head, the count
        checkpoint = checkpoints.take()
    assert (checkpoint.seq, checkpoint.count) == (5, 5)
