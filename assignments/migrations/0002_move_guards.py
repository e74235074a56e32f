"""Database guards for the first invariant: no move without a live opt-in.

1. A Move row can only be inserted when it points at the employee's own `opt_in` ledger
   record for that exact proposal and terms hash, the proposal is still `opted_in`, and no
   later ledger record about that proposal exists (nothing withdrew it since). Moves are
   history: UPDATE and DELETE are refused.
2. An employee's team can only change to the team named by their latest Move, from the
   team that Move started from, so every change of team is backed by one Move.

The conditions are written once and used by both the PostgreSQL and SQLite triggers.
"""

from django.db import migrations

LIVE_OPT_IN = """
EXISTS (
    SELECT 1
    FROM consent_consentrecord r
    JOIN assignments_proposal p ON p.id = NEW.proposal_id
    JOIN assignments_employee e ON e.id = NEW.employee_id
    WHERE r.id = NEW.opt_in_record_id
      AND r.action = 'opt_in'
      AND r.about_kind = 'proposal'
      AND r.about_id = CAST(NEW.proposal_id AS TEXT)
      AND r.subject_id = e.user_id
      AND r.terms_sha256 = p.terms_sha256
      AND p.employee_id = NEW.employee_id
      AND p.to_team_id = NEW.to_team_id
      AND p.state = 'opted_in'
      AND NOT EXISTS (
          SELECT 1 FROM consent_consentrecord later
          WHERE later.about_kind = 'proposal'
            AND later.about_id = r.about_id
            AND later.id > r.id
      )
)
"""

TEAM_CHANGE_BACKED_BY_MOVE = """
EXISTS (
    SELECT 1 FROM assignments_move m
    WHERE m.employee_id = NEW.id
      AND m.to_team_id = NEW.team_id
      AND (m.from_team_id = OLD.team_id OR (m.from_team_id IS NULL AND OLD.team_id IS NULL))
      AND m.id = (SELECT MAX(m2.id) FROM assignments_move m2 WHERE m2.employee_id = NEW.id)
)
"""

MOVE_MESSAGE = (
    "a move needs the employee's own live opt-in for this exact proposal and terms"
)
TEAM_MESSAGE = "an employee's team changes only through a move backed by their opt-in"

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION assignments_move_requires_live_opt_in() RETURNS trigger AS $$
BEGIN
    IF NOT {LIVE_OPT_IN} THEN
        RAISE EXCEPTION '{MOVE_MESSAGE.replace("'", "''")}'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assignments_move_live_opt_in
    BEFORE INSERT ON assignments_move
    FOR EACH ROW EXECUTE FUNCTION assignments_move_requires_live_opt_in();

CREATE OR REPLACE FUNCTION assignments_move_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'moves are history: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assignments_move_immutable
    BEFORE UPDATE OR DELETE ON assignments_move
    FOR EACH ROW EXECUTE FUNCTION assignments_move_reject_change();

CREATE OR REPLACE FUNCTION assignments_employee_team_via_move() RETURNS trigger AS $$
BEGIN
    IF NEW.team_id IS DISTINCT FROM OLD.team_id AND NOT {TEAM_CHANGE_BACKED_BY_MOVE} THEN
        RAISE EXCEPTION '{TEAM_MESSAGE.replace("'", "''")}'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assignments_employee_team_guard
    BEFORE UPDATE OF team_id ON assignments_employee
    FOR EACH ROW EXECUTE FUNCTION assignments_employee_team_via_move();
"""

POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS assignments_move_live_opt_in ON assignments_move;
DROP TRIGGER IF EXISTS assignments_move_immutable ON assignments_move;
DROP TRIGGER IF EXISTS assignments_employee_team_guard ON assignments_employee;
DROP FUNCTION IF EXISTS assignments_move_requires_live_opt_in();
DROP FUNCTION IF EXISTS assignments_move_reject_change();
DROP FUNCTION IF EXISTS assignments_employee_team_via_move();
"""

SQLITE_UP = [
    f"""CREATE TRIGGER assignments_move_live_opt_in BEFORE INSERT ON assignments_move
        WHEN NOT {LIVE_OPT_IN}
        BEGIN SELECT RAISE(ABORT, '{MOVE_MESSAGE.replace("'", "''")}'); END;""",
    """CREATE TRIGGER assignments_move_no_update BEFORE UPDATE ON assignments_move
        BEGIN SELECT RAISE(ABORT, 'moves are history: UPDATE refused'); END;""",
    """CREATE TRIGGER assignments_move_no_delete BEFORE DELETE ON assignments_move
        BEGIN SELECT RAISE(ABORT, 'moves are history: DELETE refused'); END;""",
    f"""CREATE TRIGGER assignments_employee_team_guard BEFORE UPDATE OF team_id
        ON assignments_employee
        WHEN NEW.team_id IS NOT OLD.team_id AND NOT {TEAM_CHANGE_BACKED_BY_MOVE}
        BEGIN SELECT RAISE(ABORT, '{TEAM_MESSAGE.replace("'", "''")}'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS assignments_move_live_opt_in;",
    "DROP TRIGGER IF EXISTS assignments_move_no_update;",
    "DROP TRIGGER IF EXISTS assignments_move_no_delete;",
    "DROP TRIGGER IF EXISTS assignments_employee_team_guard;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor[schema_editor.connection.vendor]
        for sql in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("assignments", "0001_initial"), ("consent", "0002_ledger_append_only")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        )
    ]
