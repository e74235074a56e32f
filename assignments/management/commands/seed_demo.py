"""Create the small demo organisation that `make run` shows. Safe to run again."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from assignments.deadlines import minimum_deadline
from assignments.models import Campaign, Proposal
from assignments.services import propose_retroactive_confirmation, propose_transfer
from people.models import Employee, Team
from people.roles import HR_GROUP

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


class Command(BaseCommand):
    help = "Seed demo teams, people and proposals (only with DJANGO_DEBUG=1). Idempotent."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates accounts with a published password; it runs only with "
                "DJANGO_DEBUG=1"
            )
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
        return created
