"""Create the small demo organisation that `make run` shows. Safe to run again.

`--reset` first empties the embedded SQLite database and migrates it again, so seeding gives
the demo's first state. The consent ledger is append-only (triggers refuse UPDATE and DELETE,
and `flush` deletes rows), so the reset does not edit the ledger: it drops every table, which
is the same as starting from a new database file, and keeps the file itself so that a running
`make run` (web server and worker hold it open) carries on with the new content. On any other
database the reset is refused: TRUNCATE would slip past the ledger's row triggers, and a
command that quietly empties a server's ledger is what those triggers are there to prevent;
dropping and re-creating a PostgreSQL database stays the operator's own, visible act.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from assignments.deadlines import minimum_deadline
from assignments.models import Campaign, Proposal
from assignments.services import propose_retroactive_confirmation, propose_transfer
from datause.demo import seed_purposes
from demo.hr import seed_hr_demo
from people.models import Employee, Team
from people.roles import HR_GROUP

# The structured facts people compare offers by (part of the hashed terms).
DEMO_FACTS = {
    "grade": "Senior Engineer (L5), unchanged",
    "pay_band_change": "none",
    "location": "Berlin office or remote, as today",
    "new_manager": "Priya Raman, Applied AI lead",
    "expected_duration": "12 months, then a review with you",
}

DEMO_PASSWORD = "portal-demo"  # demo only: the command refuses to run unless DJANGO_DEBUG=1

TEAMS = [
    ("payments", "Payments", Team.Kind.REGULAR, 12),
    ("platform", "Platform Engineering", Team.Kind.REGULAR, 15),
    ("people", "People Operations", Team.Kind.REGULAR, 6),
    ("model-evaluation", "Model Evaluation", Team.Kind.AI_INITIATIVE, 10),
    ("applied-ai", "Applied AI Task Force", Team.Kind.AI_INITIATIVE, 40),
]

# (email, name, title, team slug, manager email)
PEOPLE = [
    ("manager@demo.test", "Morgan Manager", "Engineering Manager", "model-evaluation", None),
    (
        "employee@demo.test",
        "Eve Employee",
        "Software Engineer",
        "model-evaluation",
        "manager@demo.test",
    ),
    (
        "sam@demo.test",
        "Sam Colleague",
        "Software Engineer",
        "model-evaluation",
        "manager@demo.test",
    ),
    ("hr@demo.test", "Harper HR", "HR Business Partner", "people", None),
    ("admin@demo.test", "Alex Admin", "Portal Administrator", "people", None),
]

ROLE = (
    "Build evaluation tooling for the task force's models. About 40% of the first three months "
    "is labelling and reviewing model outputs, falling to 10% after that. Same grade and pay; "
    "on-call once a month."
)


def reset_sqlite_database() -> int:
    """Drop every table of the SQLite database (and with them their triggers and indexes) and
    migrate again; returns how many tables were dropped. Refuses on any other database."""
    if connection.vendor != "sqlite":
        raise CommandError(
            "seed_demo --reset empties the embedded SQLite database of `make run` only; this "
            f"database is {connection.vendor} ({connection.settings_dict.get('NAME')}). Its "
            "consent ledger refuses UPDATE and DELETE, so to start again drop and re-create "
            "the database yourself (e.g. dropdb and createdb), then run migrate and seed_demo."
        )
    # Foreign keys off (outside a transaction, as SQLite requires), so that dropping a table
    # others point at deletes nothing row by row: DROP TABLE fires no trigger.
    if not connection.disable_constraint_checking():
        raise CommandError("seed_demo --reset cannot run inside a transaction")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT type, name FROM sqlite_master "
                "WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
            )
            objects = cursor.fetchall()
            for kind, name in objects:
                cursor.execute(f"DROP {kind.upper()} IF EXISTS {connection.ops.quote_name(name)}")
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
            )
            if cursor.fetchone():
                cursor.execute("DELETE FROM sqlite_sequence")  # ids start at 1 again
    finally:
        connection.enable_constraint_checking()
    ContentType.objects.clear_cache()  # its cached ids belong to the dropped tables
    call_command("migrate", interactive=False, verbosity=0)
    return sum(kind == "table" for kind, _ in objects)


class Command(BaseCommand):
    help = (
        "Seed demo teams, people and proposals (only with DJANGO_DEBUG=1). Idempotent. "
        "--reset first empties the embedded SQLite database, to replay the demo."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help=(
                "Erase the whole SQLite database (every table, the consent ledger included) "
                "and migrate it again before seeding: the demo's first state. Signs everyone "
                "out. Refused on PostgreSQL."
            ),
        )

    def handle(self, *args, reset=False, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo --reset erases the whole database; it runs only with DJANGO_DEBUG=1"
                if reset
                else "seed_demo creates accounts with a published password; it runs only with "
                "DJANGO_DEBUG=1"
            )
        if reset:
            dropped = reset_sqlite_database()
            self.stdout.write(f"database emptied ({dropped} tables dropped) and migrated again")
        with transaction.atomic():
            created = self._seed()
        self.stdout.write(
            f"demo data ready ({created} new rows); password for every login: {DEMO_PASSWORD}"
        )

    def _seed(self) -> int:
        created = 0
        teams = {}
        for slug, name, kind, target in TEAMS:
            teams[slug], new = Team.objects.get_or_create(
                slug=slug, defaults={"name": name, "kind": kind, "headcount_target": target}
            )
            created += new
        hr_group, _ = Group.objects.get_or_create(name=HR_GROUP)
        User = get_user_model()
        people = {}
        for email, name, title, team_slug, manager_email in PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                first, last = name.split(" ", 1)
                user = User.objects.create_user(
                    username=email,
                    email=email,
                    password=DEMO_PASSWORD,
                    first_name=first,
                    last_name=last,
                )
                created += 1
            if email == "admin@demo.test" and not user.is_superuser:
                user.is_superuser = user.is_staff = True
                user.save(update_fields=["is_superuser", "is_staff"])
            if email == "hr@demo.test":
                user.groups.add(hr_group)
            employee, new = Employee.objects.get_or_create(
                user=user,
                defaults={
                    "name": name,
                    "email": email,
                    "title": title,
                    "team": teams[team_slug],
                    "manager": people.get(manager_email),
                },
            )
            created += new
            people[email] = employee
        campaign, new = Campaign.objects.get_or_create(
            slug="applied-ai-task-force",
            defaults={
                "name": "Applied AI task force",
                "description": (
                    "We are staffing a task force to build and evaluate internal AI assistants. "
                    "A real share of the work is data labelling; each proposal says how much. "
                    "Nobody moves without saying yes, and saying no costs nothing."
                ),
                "data_labelling_percent": 40,
                "created_by": people["hr@demo.test"].user,
            },
        )
        campaign.target_teams.add(teams["applied-ai"])
        created += new
        manager = people["manager@demo.test"].user
        deadline = minimum_deadline() + timedelta(days=3)
        start = timezone.localdate(deadline) + timedelta(days=14)
        for email in ("employee@demo.test", "sam@demo.test"):
            employee = people[email]
            if not Proposal.objects.filter(employee=employee, kind=Proposal.Kind.TRANSFER).exists():
                propose_transfer(
                    employee=employee,
                    to_team=teams["applied-ai"],
                    actor=manager,
                    role_description=ROLE,
                    data_labelling_percent=40,
                    campaign=campaign,
                    start_date=start,
                    response_deadline=deadline,
                    **DEMO_FACTS,
                )
                created += 1
        eve = people["employee@demo.test"]
        if not Proposal.objects.filter(employee=eve, kind=Proposal.Kind.RETROACTIVE).exists():
            propose_retroactive_confirmation(
                employee=eve,
                previous_team=teams["payments"],
                actor=people["hr@demo.test"].user,
                role_description=(
                    "In March you were moved from Payments to Model Evaluation by a company-wide "
                    "memo, before this portal existed. Tell us whether you want to stay. About "
                    "30% of the work is reviewing and labelling model outputs."
                ),
                data_labelling_percent=30,
                moved_on=timezone.localdate() - timedelta(days=240),
                response_deadline=deadline,
            )
            created += 1
        # HR's workspace: a sent campaign in every state, small teams, a placement queue.
        hr_demo = seed_hr_demo(
            hr_user=people["hr@demo.test"].user, now=timezone.now(), password=DEMO_PASSWORD
        )
        created += int(bool(hr_demo.get("created")))
        # Data use: one published purpose (keystrokes and screenshots for model training).
        seed_purposes(owner=people["hr@demo.test"])
        return created
