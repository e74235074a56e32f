"""Terms become stored documents (consent.TermsDocument), and the move guard accepts an opt-in
to a translation of a proposal's terms.

1. Proposals made before this migration were fingerprinted from a dictionary of their fields
   (the first terms format). For each of them whose fields still give the recorded
   fingerprint, that dictionary is stored as its document, so the person and auditors can
   read what was agreed to; its hash is unchanged, so every ledger record keeps verifying.
   A proposal whose campaign was edited since no longer reproduces its fingerprint: its
   words cannot be recovered honestly, so nothing is stored for it (its page says so).
2. The move guard: a Move needs the employee's live opt-in to this proposal's terms, either
   the document issued or a stored translation of it.
"""

import hashlib
import importlib
import json

from django.db import migrations

first_guards = importlib.import_module("assignments.migrations.0002_move_guards")

# The opt-in's terms: the document issued, or a stored translation of it.
TERMS_READ = """(r.terms_sha256 = p.terms_sha256 OR EXISTS (
          SELECT 1 FROM consent_termsdocument d
          WHERE d.sha256 = r.terms_sha256 AND d.translation_of = p.terms_sha256
      ))"""
LIVE_OPT_IN = first_guards.LIVE_OPT_IN.replace("r.terms_sha256 = p.terms_sha256", TERMS_READ)
assert LIVE_OPT_IN != first_guards.LIVE_OPT_IN
MESSAGE = first_guards.MOVE_MESSAGE.replace("'", "''")


def _postgres(condition: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION assignments_move_requires_live_opt_in() RETURNS trigger AS $$
BEGIN
    IF NOT {condition} THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def _sqlite(condition: str) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS assignments_move_live_opt_in;",
        f"""CREATE TRIGGER assignments_move_live_opt_in BEFORE INSERT ON assignments_move
        WHEN NOT {condition}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    ]


def _guard(condition: str):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        statements = _postgres(condition) if vendor == "postgresql" else _sqlite(condition)
        for sql in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(sql, params=None)

    return run

LEGACY_GUARANTEE = (
    "Saying no is free: you keep your current role, your manager never sees your reason, "
    "and if you are moved or stay moved against your wish you get a preferential placement."
)


def _legacy_terms(p) -> dict:
    # The first terms format, frozen here exactly as assignments.terms computed it.
    campaign = p.campaign
    return {
        "kind": p.kind,
        "employee": p.employee.name,
        "from_team": p.from_team.name if p.from_team_id else None,
        "to_team": p.to_team.name,
        "role_description": p.role_description,
        "data_labelling_percent": p.data_labelling_percent,
        "start_date": p.start_date.isoformat(),
        "campaign": campaign.name if campaign else None,
        "campaign_description": campaign.description if campaign else None,
        "terms_version": str(p.terms_version),
        "opt_out_guarantee": LEGACY_GUARANTEE,
    }


def store_legacy_documents(apps, schema_editor):
    Proposal = apps.get_model("assignments", "Proposal")
    TermsDocument = apps.get_model("consent", "TermsDocument")
    proposals = Proposal.objects.select_related("employee", "from_team", "to_team", "campaign")
    batch = {}
    for p in proposals.iterator(chunk_size=2000):
        body = json.dumps(_legacy_terms(p), sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(body.encode()).hexdigest()
        if digest == p.terms_sha256:
            batch[digest] = TermsDocument(sha256=digest, language="en", body=body)
        if len(batch) >= 2000:
            TermsDocument.objects.bulk_create(batch.values(), ignore_conflicts=True)
            batch = {}
    TermsDocument.objects.bulk_create(batch.values(), ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("assignments", "0004_people_own_team_and_employee"),
        ("consent", "0004_terms_document"),
    ]

    operations = [
        migrations.RunPython(store_legacy_documents, migrations.RunPython.noop),
        migrations.RunPython(_guard(LIVE_OPT_IN), _guard(first_guards.LIVE_OPT_IN)),
    ]
