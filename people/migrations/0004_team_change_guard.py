"""Audited administrative team changes (people.TeamChange), and the database guards that keep
invariant 1 with them: nobody enters an AI-initiative team except through a Move backed by
their own opt-in.

1. `Employee.team` may change only when one of these backs the exact change (from, to):
   - the employee's latest Move, provided no administrative change was recorded after it;
   - the employee's latest TeamChange, provided no Move came after it (its `latest_move_id`
     is still the employee's latest Move) and neither team is an AI initiative.
   So an old Move or TeamChange can never be replayed to repeat a change, and no
   administrative change, raw SQL included, ever puts anyone into (or takes anyone out of)
   an AI-initiative team. On PostgreSQL the check locks the target team row (FOR SHARE), so
   it serialises with a concurrent change of that team's kind.
2. A TeamChange row is checked when inserted (it starts from the person's current team,
   changes something, names their latest Move, touches no AI-initiative team) and is
   history afterwards: UPDATE and DELETE are refused.
3. A team becomes an AI initiative only while nobody is in it: its members would otherwise
   be in an AI-initiative team without having opted in (they can be sent retroactive
   confirmations instead).

Inserting a person who is already in a team is not guarded: that is how placements made
before the portal are imported (each then gets a retroactive confirmation). SCIM and the
services never do it; they place people with a TeamChange.

The conditions are written once and used by both the PostgreSQL and SQLite triggers.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

AI = "'ai_initiative'"

# `{same}` is "IS NOT DISTINCT FROM" on PostgreSQL and "IS" on SQLite (NULL-safe equality).
LATEST_MOVE = "(SELECT MAX(m2.id) FROM assignments_move m2 WHERE m2.employee_id = {employee})"

BACKED_BY_MOVE = """
EXISTS (
    SELECT 1 FROM assignments_move m
    WHERE m.employee_id = NEW.id
      AND m.to_team_id {same} NEW.team_id
      AND m.from_team_id {same} OLD.team_id
      AND m.id = {latest_move}
      AND NOT EXISTS (
          SELECT 1 FROM people_teamchange later
          WHERE later.employee_id = NEW.id AND later.latest_move_id >= m.id
      )
)
"""

BACKED_BY_TEAM_CHANGE = """
EXISTS (
    SELECT 1 FROM people_teamchange c
    WHERE c.employee_id = NEW.id
      AND c.id = (SELECT MAX(c2.id) FROM people_teamchange c2 WHERE c2.employee_id = NEW.id)
      AND c.from_team_id {same} OLD.team_id
      AND c.to_team_id {same} NEW.team_id
      AND c.latest_move_id {same} {latest_move}
      AND NOT EXISTS (
          SELECT 1 FROM assignments_team t
          WHERE t.kind = {ai} AND (t.id {same} OLD.team_id OR t.id {same} NEW.team_id)
      )
)
"""

TEAM_CHANGE_TOUCHES_AI = """
EXISTS (
    SELECT 1 FROM assignments_team t
    WHERE t.kind = {ai} AND (t.id {same} NEW.from_team_id OR t.id {same} NEW.to_team_id)
)
"""
TEAM_CHANGE_NOT_FROM_CURRENT = """
NOT EXISTS (
    SELECT 1 FROM assignments_employee e
    WHERE e.id = NEW.employee_id AND e.team_id {same} NEW.from_team_id
)
"""
TEAM_CHANGE_STALE = "NOT (NEW.latest_move_id {same} {latest_move})"
TEAM_CHANGE_NO_CHANGE = "NEW.from_team_id {same} NEW.to_team_id"

TEAM_NOT_EMPTY = "EXISTS (SELECT 1 FROM assignments_employee e WHERE e.team_id = NEW.id)"

# Keeps the words "only through a move" that the first guard's message had.
TEAM_MESSAGE = (
    "an employee's team changes only through a move backed by their opt-in, or an audited "
    "administrative change between regular teams"
)
AI_MESSAGE = (
    "an administrative team change never enters or leaves an AI-initiative team: that takes "
    "the person's own opt-in to a proposal"
)
CURRENT_MESSAGE = "an administrative team change starts from the person's current team"
STALE_MESSAGE = "an administrative team change names the person's latest move"
NO_CHANGE_MESSAGE = "an administrative team change changes the team"
HISTORY_MESSAGE = "team changes are history"
KIND_MESSAGE = (
    "a team becomes an AI initiative only while it is empty; send its members retroactive "
    "confirmations instead"
)


def _conditions(same: str) -> dict:
    def fill(text: str, employee: str = "NEW.id") -> str:
        latest = LATEST_MOVE.format(employee=employee)
        return text.format(same=same, ai=AI, latest_move=latest)

    return {
        "backed": f"({fill(BACKED_BY_MOVE)} OR {fill(BACKED_BY_TEAM_CHANGE)})",
        "touches_ai": fill(TEAM_CHANGE_TOUCHES_AI),
        "not_from_current": fill(TEAM_CHANGE_NOT_FROM_CURRENT),
        "stale": fill(TEAM_CHANGE_STALE, employee="NEW.employee_id"),
        "no_change": fill(TEAM_CHANGE_NO_CHANGE),
    }


def _quoted(message: str) -> str:
    return message.replace("'", "''")


def postgres_up() -> str:
    c = _conditions("IS NOT DISTINCT FROM")
    checks = "\n".join(
        f"""    IF {c[name]} THEN
        RAISE EXCEPTION '{_quoted(message)}' USING ERRCODE = 'restrict_violation';
    END IF;"""
        for name, message in (
            ("no_change", NO_CHANGE_MESSAGE),
            ("touches_ai", AI_MESSAGE),
            ("not_from_current", CURRENT_MESSAGE),
            ("stale", STALE_MESSAGE),
        )
    )
    return f"""
CREATE OR REPLACE FUNCTION assignments_employee_team_via_move() RETURNS trigger AS $$
BEGIN
    IF NEW.team_id IS DISTINCT FROM OLD.team_id THEN
        -- Wait for (or see) a concurrent change of the target team's kind.
        PERFORM 1 FROM assignments_team WHERE id = NEW.team_id FOR SHARE;
        IF NOT {c["backed"]} THEN
            RAISE EXCEPTION '{_quoted(TEAM_MESSAGE)}' USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION people_teamchange_checked() RETURNS trigger AS $$
BEGIN
{checks}
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER people_teamchange_checked
    BEFORE INSERT ON people_teamchange
    FOR EACH ROW EXECUTE FUNCTION people_teamchange_checked();

CREATE OR REPLACE FUNCTION people_teamchange_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{HISTORY_MESSAGE}: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER people_teamchange_immutable
    BEFORE UPDATE OR DELETE ON people_teamchange
    FOR EACH ROW EXECUTE FUNCTION people_teamchange_reject_change();

CREATE OR REPLACE FUNCTION assignments_team_ai_only_when_empty() RETURNS trigger AS $$
BEGIN
    IF NEW.kind = {AI} AND OLD.kind IS DISTINCT FROM {AI} AND {TEAM_NOT_EMPTY} THEN
        RAISE EXCEPTION '{_quoted(KIND_MESSAGE)}' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assignments_team_ai_only_when_empty
    BEFORE UPDATE OF kind ON assignments_team
    FOR EACH ROW EXECUTE FUNCTION assignments_team_ai_only_when_empty();
"""


# The first guard (assignments/migrations/0002), restored when this migration is reversed.
FIRST_TEAM_GUARD = """
EXISTS (
    SELECT 1 FROM assignments_move m
    WHERE m.employee_id = NEW.id
      AND m.to_team_id = NEW.team_id
      AND (m.from_team_id = OLD.team_id OR (m.from_team_id IS NULL AND OLD.team_id IS NULL))
      AND m.id = (SELECT MAX(m2.id) FROM assignments_move m2 WHERE m2.employee_id = NEW.id)
)
"""
FIRST_MESSAGE = "an employee's team changes only through a move backed by their opt-in"


def postgres_down() -> str:
    return f"""
DROP TRIGGER IF EXISTS assignments_team_ai_only_when_empty ON assignments_team;
DROP FUNCTION IF EXISTS assignments_team_ai_only_when_empty();
DROP TRIGGER IF EXISTS people_teamchange_immutable ON people_teamchange;
DROP FUNCTION IF EXISTS people_teamchange_reject_change();
DROP TRIGGER IF EXISTS people_teamchange_checked ON people_teamchange;
DROP FUNCTION IF EXISTS people_teamchange_checked();
CREATE OR REPLACE FUNCTION assignments_employee_team_via_move() RETURNS trigger AS $$
BEGIN
    IF NEW.team_id IS DISTINCT FROM OLD.team_id AND NOT {FIRST_TEAM_GUARD} THEN
        RAISE EXCEPTION '{_quoted(FIRST_MESSAGE)}' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def sqlite_up() -> list[str]:
    c = _conditions("IS")
    statements = [
        "DROP TRIGGER IF EXISTS assignments_employee_team_guard;",
        f"""CREATE TRIGGER assignments_employee_team_guard BEFORE UPDATE OF team_id
        ON assignments_employee
        WHEN NEW.team_id IS NOT OLD.team_id AND NOT {c["backed"]}
        BEGIN SELECT RAISE(ABORT, '{_quoted(TEAM_MESSAGE)}'); END;""",
    ]
    for name, message in (
        ("no_change", NO_CHANGE_MESSAGE),
        ("touches_ai", AI_MESSAGE),
        ("not_from_current", CURRENT_MESSAGE),
        ("stale", STALE_MESSAGE),
    ):
        statements.append(
            f"""CREATE TRIGGER people_teamchange_{name} BEFORE INSERT ON people_teamchange
            WHEN {c[name]}
            BEGIN SELECT RAISE(ABORT, '{_quoted(message)}'); END;"""
        )
    statements += [
        f"""CREATE TRIGGER people_teamchange_no_update BEFORE UPDATE ON people_teamchange
        BEGIN SELECT RAISE(ABORT, '{HISTORY_MESSAGE}: UPDATE refused'); END;""",
        f"""CREATE TRIGGER people_teamchange_no_delete BEFORE DELETE ON people_teamchange
        BEGIN SELECT RAISE(ABORT, '{HISTORY_MESSAGE}: DELETE refused'); END;""",
        f"""CREATE TRIGGER assignments_team_ai_only_when_empty BEFORE UPDATE OF kind
        ON assignments_team
        WHEN NEW.kind = {AI} AND OLD.kind IS NOT {AI} AND {TEAM_NOT_EMPTY}
        BEGIN SELECT RAISE(ABORT, '{_quoted(KIND_MESSAGE)}'); END;""",
    ]
    return statements


def sqlite_down() -> list[str]:
    drops = [
        f"DROP TRIGGER IF EXISTS people_teamchange_{name};"
        for name in ("no_change", "touches_ai", "not_from_current", "stale")
    ]
    return drops + [
        "DROP TRIGGER IF EXISTS people_teamchange_no_update;",
        "DROP TRIGGER IF EXISTS people_teamchange_no_delete;",
        "DROP TRIGGER IF EXISTS assignments_team_ai_only_when_empty;",
        "DROP TRIGGER IF EXISTS assignments_employee_team_guard;",
        f"""CREATE TRIGGER assignments_employee_team_guard BEFORE UPDATE OF team_id
        ON assignments_employee
        WHEN NEW.team_id IS NOT OLD.team_id AND NOT {FIRST_TEAM_GUARD}
        BEGIN SELECT RAISE(ABORT, '{_quoted(FIRST_MESSAGE)}'); END;""",
    ]


def _run(postgres, sqlite):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        statements = postgres() if vendor == "postgresql" else sqlite()
        for sql in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_team_description"),
        ("assignments", "0005_terms_documents"),
        ("api", "0001_api_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TeamChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("client_name", models.CharField(max_length=200)),
                ("latest_move_id", models.BigIntegerField(blank=True, null=True)),
                ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("api_key", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="api.apikey")),
                ("employee", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="team_changes", to="people.employee")),
                ("from_team", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="people.team")),
                ("to_team", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="people.team")),
            ],
            options={
                "ordering": ["-at", "-id"],
                "indexes": [models.Index(fields=["employee", "id"], name="teamchange_employee_idx")],
            },
        ),
        migrations.RunPython(_run(postgres_up, sqlite_up), _run(postgres_down, sqlite_down)),
    ]
