"""After the re-chain, rewrite the ledger's table so no old row version keeps a reason's words.

An UPDATE leaves the previous row version on disk until it is vacuumed, and a dropped column
stays in every page until the table is rewritten: VACUUM FULL (PostgreSQL) and VACUUM (SQLite)
rewrite it. Neither runs inside a transaction, hence a non-atomic migration; inside one (a
test's migration executor) it is skipped. Backups and WAL archives from before still hold the
plaintext: the README says to rotate them out.
"""

from django.db import migrations

STATEMENTS = {"postgresql": "VACUUM FULL consent_consentrecord", "sqlite": "VACUUM"}


def vacuum(apps, schema_editor):
    connection = schema_editor.connection
    statement = STATEMENTS.get(connection.vendor)
    if statement is None or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(statement)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("consent", "0008_ledger_format_2_constraints")]

    operations = [migrations.RunPython(vacuum, migrations.RunPython.noop)]
