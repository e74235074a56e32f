"""Ledger format 2, step 2 of 3: re-chain every existing record once, sealing its reason.

Why a re-chain, and why here. Format 1 hashed the private reason's plaintext, so a reason
could neither be encrypted nor erased without breaking every hash after it; format 2 hashes
the sealed reason and the record's sequence number instead. There is no honest way to keep
the old hashes *and* drop the plaintext, so this migration, run once by the database owner
(the only role that may switch the append-only trigger off), does it in one transaction:

1. Verify the whole format-1 chain first. A broken chain is refused, naming the record, and
   nothing changes: re-chaining it would launder the tampering into a valid-looking chain.
2. Walk the records in id order; give each its sequence number, seal its reason with its
   subject's new data key (consent.crypto), keep its old hash as `legacy_hash` (receipts
   issued before name it) and link it into a new format-2 chain, which also covers
   `legacy_hash`, so the new chain commits to the old one record by record.
3. Write one LedgerEpoch row: the old head hash, the new head hash and the count, so a
   checkpoint or receipt from before stays explainable.

The trigger is switched off for this transaction only and on again before it commits.
"""

from django.db import migrations

BATCH = 1000


def rechain(apps, connection) -> dict | None:
    """Re-chain the format-1 records of `apps`' ledger into format 2; return the epoch's
    fields, or None for an empty ledger. Raises RuntimeError on a broken format-1 chain."""
    from consent import crypto
    from consent.ledger import record_hash, record_hash_v1
    from consent.models import GENESIS_HASH, LEDGER_FORMAT

    Record = apps.get_model("consent", "ConsentRecord")
    SubjectKey = apps.get_model("consent", "SubjectKey")
    Epoch = apps.get_model("consent", "LedgerEpoch")
    old_head = new_head = GENESIS_HASH
    seq = 0
    keys: dict[int, tuple[int, bytes]] = {}
    pending = []
    fields = ["format", "seq", "reason_key_id", "reason_ciphertext", "legacy_hash",
              "private_reason", "prev_hash", "hash"]  # fmt: skip

    def flush():
        Record.objects.bulk_update(pending, fields, batch_size=BATCH)
        pending.clear()

    rows = Record.objects.filter(format=1).order_by("id")
    for record in rows.iterator(chunk_size=BATCH):
        row = {name: getattr(record, name) for name in (
            "subject_id", "about_kind", "about_id", "action", "terms_sha256", "terms_version",
            "actor_id", "channel", "recorded_at", "ip_address", "user_agent", "private_reason",
            "prev_hash")}  # fmt: skip
        if record.prev_hash != old_head or record_hash_v1(row) != record.hash:
            raise RuntimeError(
                f"ledger broken at record {record.pk} (format 1): fix or explain it before "
                "migrating; nothing was changed (re-chaining would hide the break)"
            )
        old_head = record.hash
        seq += 1
        record.reason_key_id, record.reason_ciphertext = None, ""
        if record.private_reason:
            if record.subject_id not in keys:
                data_key, wrapped, master_id = crypto.new_data_key(record.subject_id)
                key = SubjectKey.objects.create(
                    subject_id=record.subject_id, wrapped=wrapped, master_key_id=master_id
                )
                keys[record.subject_id] = (key.pk, data_key)
            key_id, data_key = keys[record.subject_id]
            record.reason_key_id = key_id
            record.reason_ciphertext = crypto.seal(
                record.private_reason, data_key=data_key, subject_id=record.subject_id,
                key_id=key_id,
            )  # fmt: skip
        record.private_reason = ""
        record.format, record.seq, record.legacy_hash = LEDGER_FORMAT, seq, record.hash
        record.prev_hash = new_head
        record.hash = new_head = record_hash(
            {**row, "format": LEDGER_FORMAT, "seq": seq, "reason_key_id": record.reason_key_id,
             "reason_ciphertext": record.reason_ciphertext, "legacy_hash": record.legacy_hash,
             "prev_hash": new_head}
        )  # fmt: skip
        pending.append(record)
        if len(pending) >= BATCH:
            flush()
    flush()
    if not seq:
        return None
    epoch = {
        "format": LEDGER_FORMAT,
        "previous_format": 1,
        "records": seq,
        "old_head_hash": old_head,
        "new_head_hash": new_head,
        "note": "Re-chained from format 1 (plaintext reasons) to format 2 (sealed reasons, "
        "sequence numbers); each record keeps its format-1 hash as legacy_hash.",
    }
    Epoch.objects.create(**epoch)
    return epoch


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE consent_consentrecord DISABLE TRIGGER consent_ledger_append_only"
            )
        # SQLite lost its ledger triggers when 0006 rebuilt the table; 0008 restores them.
    rechain(apps, connection)
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending events before ALTER
            cursor.execute(
                "ALTER TABLE consent_consentrecord ENABLE TRIGGER consent_ledger_append_only"
            )


class Migration(migrations.Migration):
    dependencies = [("consent", "0006_ledger_format_2_schema")]

    # No way back: format-1 hashes covered the plaintext reasons, which are gone.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
