"""HR's part of the demo (`seed_demo` calls `seed_hr_demo`): a sent campaign with real figures.

"Internal AI assistants" went to 44 people in six teams and four job levels; a pilot wave of
six went before it. Every state is there: pending (their deadline was extended), opted in,
opted out, consent withdrawn, expired, withdrawn by HR, in effect, and undrafted (whose
requests wait in the placement queue). Two teams are smaller than five, so the dashboards
show a suppressed cell; one person is on leave.

Everything goes through the services, on a timeline in the past (`now=`), so the ledger, the
events, the moves and the notices are exactly what the portal itself would have written.
Idempotent: once the campaign is sent, running it again changes nothing.
"""

import functools
import random
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from assignments import services
from assignments.deadlines import add_working_days
from assignments.models import Campaign, PlacementRequest
from consent.services import RequestContext
from people.models import Employee, Team

SLUG = "internal-ai-assistants"
DESTINATION = ("ai-assistants", "AI Assistants", Team.Kind.AI_INITIATIVE, 60)
# slug, name, headcount target, people in the campaign (Security and Developer Experience are
# under 5: their cells are suppressed), people in the pilot wave.
TEAMS = [
    ("data-platform", "Data Platform", 16, 12, 3),
    ("search", "Search", 12, 9, 0),
    ("mobile", "Mobile Apps", 12, 8, 0),
    ("infrastructure", "Infrastructure", 14, 10, 3),
    ("security", "Security", 5, 3, 0),
    ("developer-experience", "Developer Experience", 4, 2, 0),
]
TITLES = [
    "Software Engineer I",
    "Software Engineer II",
    "Senior Software Engineer",
    "Staff Engineer",
]
FIRST = [
    "Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harley", "Indy", "Jules",
    "Kai", "Logan", "Marlow", "Noor", "Oakley", "Parker", "Quinn", "Reese", "Sasha", "Toby",
]  # fmt: skip
LAST = ["Adler", "Brook", "Castell", "Dunn", "Ellis", "Frost", "Gale", "Hart", "Ives"]
# What becomes of the 44: shuffled (with a fixed seed) so that every team gets a mix.
OUTCOMES = (
    ["opted_in"] * 10
    + ["opted_out"] * 9
    + ["pending"] * 10
    + ["expired"] * 8
    + ["withdrawn"] * 4
    + ["consent_withdrawn"] * 3
)
DESCRIPTION = (
    "We are building internal AI assistants for support and engineering. The team writes "
    "evaluation sets and reviews model answers. Each proposal says how much of the work is "
    "data labelling. Nobody moves without saying yes, and saying no costs nothing."
)
ROLE = (
    "Write evaluation sets for the assistants and review their answers against them. About "
    "35% of the work is labelling and rating model outputs; the rest is building the "
    "evaluation tooling. Same grade and pay, hybrid, reporting to the AI Assistants lead."
)
DEMO = RequestContext(ip_address="192.0.2.10", user_agent="seed_demo (demo data)")


def _team(slug, name, kind, target) -> Team:
    team, _created = Team.objects.get_or_create(
        slug=slug, defaults={"name": name, "kind": kind, "headcount_target": target}
    )
    return team


@functools.cache
def _demo_hash(password: str) -> str:
    return make_password(password)


def _person(index: int, team: Team, *, title: str, manager=None, password=None) -> Employee:
    first, last = FIRST[index % len(FIRST)], LAST[(index // len(FIRST)) % len(LAST)]
    email = f"{first}.{last}{index}@demo.test".lower()
    employee = Employee.objects.filter(email=email).first()
    if employee is not None:
        return employee
    User = get_user_model()
    user = User(username=email, email=email, first_name=first, last_name=last)
    if password:
        # One hash for every demo person: fifty PBKDF2 rounds would make `make run` slow.
        user.password = _demo_hash(password)
    else:
        user.set_unusable_password()
    user.save()
    return Employee.objects.create(
        user=user,
        external_id=f"D-{index:04d}",
        name=f"{first} {last}",
        email=email,
        title=title,
        team=team,
        manager=manager,
    )


@transaction.atomic
def seed_hr_demo(*, hr_user, now, password=None) -> dict:
    """Seed HR's demo on a timeline ending at `now`. Returns what it made (nothing, if the
    campaign was already sent)."""
    existing = Campaign.objects.filter(slug=SLUG).first()
    if existing is not None and existing.state == Campaign.State.SENT:
        return {"created": False, "campaign": existing}
    from notifications.models import Notification

    notices_before = Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ai = _team(*DESTINATION)
    teams, campaign_people, pilot_people = {}, [], []
    index = 0
    for slug, name, target, in_campaign, in_pilot in TEAMS:
        team = teams[slug] = _team(slug, name, Team.Kind.REGULAR, target)
        lead = _person(index, team, title="Engineering Manager", password=password)
        index += 1
        for n in range(in_campaign + in_pilot):
            person = _person(
                index, team, title=TITLES[n % len(TITLES)], manager=lead, password=password
            )
            index += 1
            (campaign_people if n < in_campaign else pilot_people).append(person)

    # The timeline: drafted two months ago, a pilot wave proposed one by one and moved, the
    # campaign sent two weeks ago with the shortest window, decisions in its first days.
    drafted = now - timedelta(days=62)
    pilot_sent = now - timedelta(days=60)
    sent = now - timedelta(days=14)
    campaign = existing or services.create_campaign(
        actor=hr_user,
        target_teams=[ai],
        now=drafted,
        name="Internal AI assistants",
        description=DESCRIPTION,
        role_description=ROLE,
        data_labelling_percent=35,
        start_date=timezone.localdate(now) + timedelta(days=21),
        response_working_days=5,
        accountable_owner="Dana Director, VP Engineering",
        assessment_kind=Campaign.Assessment.WORKS_COUNCIL,
        assessment_reference="Works council consultation WC-2026-014 (impact assessment DPIA-88)",
    )

    pilot_start = timezone.localdate(pilot_sent) + timedelta(days=20)
    pilot = [
        services.propose_transfer(
            employee=person,
            to_team=ai,
            actor=hr_user,
            role_description=ROLE,
            data_labelling_percent=35,
            campaign=campaign,
            start_date=pilot_start,
            response_deadline=add_working_days(pilot_sent, 6),
            now=pilot_sent,
        )
        for person in pilot_people
    ]
    for proposal in pilot:
        services.opt_in(
            proposal=proposal,
            actor=proposal.employee.user,
            terms_sha256=proposal.terms_sha256,
            context=DEMO,
            now=pilot_sent + timedelta(days=1),
        )
    moved_at = timezone.make_aware(datetime.combine(pilot_start, time(9)))
    for proposal in pilot:
        services.apply_move(proposal=proposal, now=moved_at)

    services.choose_audience(
        campaign=campaign,
        employees=campaign_people,
        to_team=ai,
        label="Teams: " + ", ".join(name for _s, name, *_rest in TEAMS),
        actor=hr_user,
    )
    proposals = services.send_campaign(campaign=campaign, actor=hr_user, now=sent)
    outcomes = list(OUTCOMES)
    random.Random(10).shuffle(outcomes)
    deadline = proposals[0].response_deadline
    for proposal, outcome in zip(sorted(proposals, key=lambda p: p.pk), outcomes, strict=True):
        user = proposal.employee.user
        if outcome in ("opted_in", "consent_withdrawn"):
            services.opt_in(
                proposal=proposal,
                actor=user,
                terms_sha256=proposal.terms_sha256,
                context=DEMO,
                now=sent + timedelta(days=1),
            )
        if outcome == "consent_withdrawn":
            services.withdraw_consent(
                proposal=proposal, actor=user, context=DEMO, now=sent + timedelta(days=3)
            )
        elif outcome == "opted_out":
            services.opt_out(
                proposal=proposal,
                actor=user,
                context=DEMO,
                private_reason="I would rather keep building what I build now.",
                now=sent + timedelta(days=2),
            )
        elif outcome == "withdrawn":
            services.withdraw_proposal(
                proposal=proposal,
                actor=hr_user,
                reason="Their team's own project needs them this quarter.",
                now=sent + timedelta(days=2),
            )
        elif outcome == "pending":
            services.extend_deadline(
                proposal=proposal,
                actor=hr_user,
                new_deadline=add_working_days(now, 5),
                reason="A town hall about the assistants is planned; more time to decide.",
                now=sent + timedelta(days=3),
            )
    # Those who said nothing by the deadline: expired, never a yes.
    services.expire_overdue_proposals(now=deadline + timedelta(minutes=1))

    # Two of the pilot wave undraft; their requests wait in the placement queue.
    for proposal in pilot[:2]:
        services.undraft(
            proposal=proposal,
            actor=proposal.employee.user,
            context=DEMO,
            team_preferences=[teams["search"], teams["mobile"]],
            now=now - timedelta(days=5),
        )
    # One person with a pending proposal is on leave: their window is paused.
    ordered = sorted(proposals, key=lambda p: p.pk)
    on_leave = next(p.employee for p, o in zip(ordered, outcomes, strict=True) if o == "pending")
    services.start_leave(employee=on_leave, actor=hr_user, now=now - timedelta(days=2))
    # This history happened "in the past": its notices are there to read in the portal, but
    # nobody is emailed about weeks-old events when `make run` starts.
    Notification.objects.filter(
        id__gt=notices_before, email_state=Notification.EmailState.PENDING
    ).update(email_state=Notification.EmailState.NONE)
    campaign.refresh_from_db()
    return {
        "created": True,
        "campaign": campaign,
        "proposals": len(proposals) + len(pilot),
        "placement_requests": PlacementRequest.objects.filter(
            source_proposal__campaign=campaign
        ).count(),
    }
