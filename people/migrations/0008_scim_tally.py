"""How many people SCIM serves, per block of 1,024 employee ids (people.ScimTally), kept exact
by the database, so a Users page at any startIndex costs the same at any size.

`totalResults` for GET /Users was a COUNT(*) over every person with an anti-join on their SCIM
records (25-35 ms at 110,000 people), and a late page skipped up to every earlier row (OFFSET,
up to ~20 ms more). With these counts the total is the sum of about n / 1,024 rows, and a
page starts at the block its startIndex falls in, skipping fewer than 1,024 rows there.

Exact, and no writer waits for another:
1. Triggers on the employees and on their SCIM records compute each statement's change per
   block (an employee inserted or deleted: +1 or -1; a SCIM record that hides its person, one
   with `deleted_at`, inserted or deleted: -1 or +1; an update that changes whether it hides,
   or whom). They run in the writing transaction, so the counts commit (or roll back) with
   the rows: any snapshot sees the counts of exactly the rows it sees.
2. `people_scim_tally_add` adds a change to the block rows only if it gets the tally's
   advisory lock *without waiting* (pg_try_advisory_xact_lock), and then also folds in every
   delta other writers committed meanwhile. Otherwise it appends a delta row (no lock, no
   conflict). Only the lock holder ever updates block rows or deletes deltas, so nobody waits
   on their row locks either. Outside READ COMMITTED (a snapshot older than the lock) a writer
   only appends deltas.
3. TRUNCATE of either table (or of the tallies) recounts everything from the tables.
A SCIM record points at an existing person once its transaction commits (its foreign key), so
"employees minus hiding records" is exactly the number served.

PostgreSQL only: the embedded SQLite of `make run` counts and skips rows as before (the
tables exist there, unused). The partial index serves every "is this person deleted over
SCIM" test (the anti-join of every Users query, the recount).
"""

from django.db import migrations, models

KEY = 0x5343494D  # the tally's advisory lock ("SCIM"); the ledger's is 0x436F6E73
BLOCK_BITS = 10  # people.scim.query.TALLY_BLOCK_BITS
HIDES = "{r}.employee_id IS NOT NULL AND {r}.deleted_at IS NOT NULL"

POSTGRES_UP = [
    f"""
CREATE OR REPLACE FUNCTION people_scim_tally_add(blocks bigint[], deltas bigint[])
RETURNS void AS $$
BEGIN
    IF blocks IS NULL OR cardinality(blocks) = 0 THEN
        RETURN;
    END IF;
    IF current_setting('transaction_isolation') = 'read committed'
       AND pg_try_advisory_xact_lock({KEY}) THEN
        -- The holder (until it commits): its own change and every committed delta, at once.
        WITH pending AS (
            DELETE FROM people_scimtallydelta RETURNING block, served
        ), changes AS (
            SELECT block, sum(served) AS served
            FROM (
                SELECT block, served FROM pending
                UNION ALL
                SELECT b, d FROM unnest(blocks, deltas) AS mine(b, d)
            ) AS c
            GROUP BY block
        )
        INSERT INTO people_scimtally AS t (block, served)
        SELECT block, served FROM changes WHERE served <> 0
        ON CONFLICT (block) DO UPDATE SET served = t.served + EXCLUDED.served;
    ELSE
        INSERT INTO people_scimtallydelta (block, served)
        SELECT b, d FROM unnest(blocks, deltas) AS mine(b, d);
    END IF;
END;
$$ LANGUAGE plpgsql;
""",
    f"""
CREATE OR REPLACE FUNCTION people_scim_tally_rebuild() RETURNS void AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({KEY});
    -- One statement, one snapshot: a delta committed meanwhile is either counted here and
    -- deleted, or neither. (A block row is overwritten, not deleted and inserted again: one
    -- statement cannot insert a key it deletes.)
    WITH cleared AS (
        DELETE FROM people_scimtallydelta
    ), counted AS (
        SELECT e.id >> {BLOCK_BITS} AS block, count(*) AS served
        FROM assignments_employee e
        WHERE NOT EXISTS (
            SELECT 1 FROM people_scimrecord r
            WHERE r.employee_id = e.id AND r.deleted_at IS NOT NULL
        )
        GROUP BY 1
    ), emptied AS (
        DELETE FROM people_scimtally t
        WHERE NOT EXISTS (SELECT 1 FROM counted c WHERE c.block = t.block)
    )
    INSERT INTO people_scimtally AS t (block, served)
    SELECT block, served FROM counted
    ON CONFLICT (block) DO UPDATE SET served = EXCLUDED.served;
END;
$$ LANGUAGE plpgsql;
""",
    f"""
CREATE OR REPLACE FUNCTION people_scim_tally_employees() RETURNS trigger AS $$
DECLARE
    blocks bigint[];
    deltas bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(block), array_agg(n) INTO blocks, deltas
        FROM (SELECT id >> {BLOCK_BITS} AS block, count(*) AS n FROM new_rows GROUP BY 1) AS c;
    ELSE
        SELECT array_agg(block), array_agg(-n) INTO blocks, deltas
        FROM (SELECT id >> {BLOCK_BITS} AS block, count(*) AS n FROM old_rows GROUP BY 1) AS c;
    END IF;
    PERFORM people_scim_tally_add(blocks, deltas);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""",
    f"""
CREATE OR REPLACE FUNCTION people_scim_tally_employee_renumbered() RETURNS trigger AS $$
BEGIN
    PERFORM people_scim_tally_add(
        ARRAY[OLD.id >> {BLOCK_BITS}, NEW.id >> {BLOCK_BITS}], ARRAY[-1, 1]::bigint[]
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""",
    f"""
CREATE OR REPLACE FUNCTION people_scim_tally_records() RETURNS trigger AS $$
DECLARE
    blocks bigint[];
    deltas bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(block), array_agg(-n) INTO blocks, deltas
        FROM (
            SELECT r.employee_id >> {BLOCK_BITS} AS block, count(*) AS n FROM new_rows r
            WHERE {HIDES.format(r="r")} GROUP BY 1
        ) AS c;
    ELSE
        SELECT array_agg(block), array_agg(n) INTO blocks, deltas
        FROM (
            SELECT r.employee_id >> {BLOCK_BITS} AS block, count(*) AS n FROM old_rows r
            WHERE {HIDES.format(r="r")} GROUP BY 1
        ) AS c;
    END IF;
    PERFORM people_scim_tally_add(blocks, deltas);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""",
    f"""
CREATE OR REPLACE FUNCTION people_scim_tally_record_changed() RETURNS trigger AS $$
DECLARE
    blocks bigint[] := '{{}}';
    deltas bigint[] := '{{}}';
BEGIN
    IF {HIDES.format(r="OLD")} THEN
        blocks := blocks || (OLD.employee_id >> {BLOCK_BITS});
        deltas := deltas || 1::bigint;
    END IF;
    IF {HIDES.format(r="NEW")} THEN
        blocks := blocks || (NEW.employee_id >> {BLOCK_BITS});
        deltas := deltas || (-1)::bigint;
    END IF;
    PERFORM people_scim_tally_add(blocks, deltas);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""",
    """
CREATE OR REPLACE FUNCTION people_scim_tally_truncated() RETURNS trigger AS $$
BEGIN
    PERFORM people_scim_tally_rebuild();
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""",
    # Statement triggers: a bulk insert (a CSV import, the bench's seeding) adds once per block.
    """CREATE TRIGGER people_scim_tally_employee_insert AFTER INSERT ON assignments_employee
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION people_scim_tally_employees()""",
    """CREATE TRIGGER people_scim_tally_employee_delete AFTER DELETE ON assignments_employee
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION people_scim_tally_employees()""",
    # Row triggers with a WHEN: the everyday UPDATE (a name, a team) never runs them.
    """CREATE TRIGGER people_scim_tally_employee_renumber AFTER UPDATE OF id
    ON assignments_employee FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION people_scim_tally_employee_renumbered()""",
    """CREATE TRIGGER people_scim_tally_record_insert AFTER INSERT ON people_scimrecord
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION people_scim_tally_records()""",
    """CREATE TRIGGER people_scim_tally_record_delete AFTER DELETE ON people_scimrecord
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION people_scim_tally_records()""",
    """CREATE TRIGGER people_scim_tally_record_update AFTER UPDATE OF employee_id, deleted_at
    ON people_scimrecord FOR EACH ROW
    WHEN (OLD.employee_id IS DISTINCT FROM NEW.employee_id
          OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION people_scim_tally_record_changed()""",
    *(
        f"""CREATE TRIGGER people_scim_tally_truncate AFTER TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION people_scim_tally_truncated()"""
        for table in (
            "assignments_employee",
            "people_scimrecord",
            "people_scimtally",
            "people_scimtallydelta",
        )
    ),
    "SELECT people_scim_tally_rebuild()",
]

POSTGRES_DOWN = [
    *(
        f"DROP TRIGGER IF EXISTS {name} ON {table}"
        for name, table in (
            ("people_scim_tally_employee_insert", "assignments_employee"),
            ("people_scim_tally_employee_delete", "assignments_employee"),
            ("people_scim_tally_employee_renumber", "assignments_employee"),
            ("people_scim_tally_truncate", "assignments_employee"),
            ("people_scim_tally_record_insert", "people_scimrecord"),
            ("people_scim_tally_record_delete", "people_scimrecord"),
            ("people_scim_tally_record_update", "people_scimrecord"),
            ("people_scim_tally_truncate", "people_scimrecord"),
            ("people_scim_tally_truncate", "people_scimtally"),
            ("people_scim_tally_truncate", "people_scimtallydelta"),
        )
    ),
    *(
        f"DROP FUNCTION IF EXISTS {name}"
        for name in (
            "people_scim_tally_truncated()",
            "people_scim_tally_record_changed()",
            "people_scim_tally_records()",
            "people_scim_tally_employee_renumbered()",
            "people_scim_tally_employees()",
            "people_scim_tally_rebuild()",
            "people_scim_tally_add(bigint[], bigint[])",
        )
    ),
]


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("people", "0007_case_insensitive_lookups")]

    operations = [
        migrations.CreateModel(
            name="ScimTally",
            fields=[
                ("block", models.BigIntegerField(primary_key=True, serialize=False)),
                ("served", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="ScimTallyDelta",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("block", models.BigIntegerField()),
                ("served", models.BigIntegerField()),
            ],
        ),
        migrations.AddIndex(
            model_name="scimrecord",
            index=models.Index(
                fields=["employee"],
                condition=models.Q(deleted_at__isnull=False, employee__isnull=False),
                name="scimrecord_deleted_person_idx",
            ),
        ),
        migrations.RunPython(_on_postgresql(POSTGRES_UP), _on_postgresql(POSTGRES_DOWN)),
    ]
