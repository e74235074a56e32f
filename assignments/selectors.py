"""Reads, already limited to what the caller may see and already joined."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When

from assignments.models import PlacementPreference, PlacementRequest, Proposal, ProposalEvent
from notifications.models import Notification
from people.models import Employee, Team
from people.roles import is_hr
from people.selectors import display_name

_JOINS = ("employee", "from_team", "to_team", "proposed_by", "campaign")


def inbox_for(employee: Employee) -> QuerySet[Proposal]:
    """Every proposal about this person: pending first (soonest deadline first), then the rest."""
    return (
        Proposal.objects.filter(employee=employee)
        .select_related(*_JOINS)
        .annotate(
            pending_first=Case(
                When(state=Proposal.State.PENDING, then=Value(0)),
                When(state=Proposal.State.OPTED_IN, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("pending_first", "response_deadline", "-created_at")
    )


def inbox_list_for(employee: Employee) -> QuerySet[Proposal]:
    """The inbox's list: the same proposals in the same order, joined only to the team each
    would move the person to (all the list shows). Every page view of every employee runs
    it, so it carries no joins the list does not read."""
    return inbox_for(employee).select_related(None).select_related("to_team")


def proposals_visible_to(user) -> QuerySet[Proposal]:
    """The employee's own, a manager's direct reports' and their own proposals; HR sees all."""
    qs = Proposal.objects.select_related(*_JOINS)
    if not user.is_authenticated:
        return qs.none()
    if is_hr(user):
        return qs
    return (
        qs.filter(employee__user=user)
        | qs.filter(employee__manager__user=user)
        | qs.filter(proposed_by=user)
    )


def proposals_managed_by(user) -> QuerySet[Proposal]:
    """Proposals a manager made or that concern their direct reports (HR: all), never their own.

    Rows carry status only: nothing here reads the consent ledger, so private reasons cannot
    leak into a manager's page.
    """
    qs = Proposal.objects.select_related(*_JOINS, "employee__manager").order_by(
        "-created_at", "-id"
    )
    if not user.is_authenticated:
        return qs.none()
    if is_hr(user):
        return qs
    return qs.filter(Q(proposed_by=user) | Q(employee__manager__user=user)).exclude(
        employee__user=user
    )


def employees_without_consent_on_record() -> QuerySet[Employee]:
    """People moved before the portal who never confirmed: listed, never counted as consenting."""
    return (
        Employee.objects.filter(
            # Expired in silence or withdrawn by HR: either way they never confirmed.
            proposals__kind=Proposal.Kind.RETROACTIVE,
            proposals__state__in=(Proposal.State.EXPIRED, Proposal.State.WITHDRAWN),
        )
        .exclude(
            proposals__kind=Proposal.Kind.RETROACTIVE, proposals__state=Proposal.State.EFFECTIVE
        )
        .distinct()
    )


# --- The person's own view of one proposal -------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a proposal, as its person is shown it.

    `kind` is a ProposalEvent kind, or "reminded" for a deadline reminder sent to them. The
    template words each kind; times are aware and shown in the reader's zone.
    """

    kind: str
    at: datetime
    actor_name: str = ""
    by_subject: bool = False  # the person themself acted (their own decisions)
    reason: str = ""  # the proposer's words when extending or withdrawing
    for_leave: bool = False  # extended because the person was on leave
    working_days: int | None = None
    hours: int | None = None  # how long before the deadline a reminder went out
    previous: datetime | None = None
    new: datetime | None = None


def _moment(value) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def timeline_for(proposal: Proposal) -> list[TimelineEntry]:
    """Everything that happened to this proposal, oldest first: its events (proposed,
    extended with the reason, withdrawn with the reason, decided, moved, undrafted) and the
    deadline reminders its person was sent. Two queries, however long the history."""
    subject_id = proposal.employee.user_id
    entries = []
    events = ProposalEvent.objects.filter(proposal=proposal).select_related(
        "actor", "actor__employee"
    )
    for e in events:  # query 1: the events, with who acted
        detail = e.detail or {}
        reason = detail.get("reason", "")
        entries.append(
            TimelineEntry(
                kind=e.kind,
                at=e.at,
                actor_name=display_name(e.actor) if e.actor_id else "",
                by_subject=e.actor_id is not None and e.actor_id == subject_id,
                reason="" if reason == "leave" else reason,
                for_leave=reason == "leave",
                working_days=detail.get("working_days"),
                previous=_moment(detail.get("previous")),
                new=_moment(detail.get("new")),
            )
        )
    reminders = Notification.objects.filter(
        recipient_id=subject_id,
        kind=Notification.Kind.DEADLINE_REMINDER,
        context__proposal_id=proposal.pk,
    ).values_list("created_at", "context")
    for at, context in reminders:  # query 2: the reminders sent to the person
        entries.append(TimelineEntry(kind="reminded", at=at, hours=(context or {}).get("hours")))
    return sorted(entries, key=lambda entry: entry.at)


def placement_request_from(proposal: Proposal) -> PlacementRequest | None:
    """The placement request this proposal's undraft opened (the newest), with its ranked
    preferences and their teams. Two queries."""
    return (
        PlacementRequest.objects.filter(source_proposal=proposal)
        .prefetch_related(
            Prefetch("preferences", queryset=PlacementPreference.objects.select_related("team"))
        )
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class TeamChoice:
    """A team someone may ask to join after an undraft, with what they need to choose."""

    team: Team
    open_seats: int | None  # None: the team has no headcount target
    is_previous: bool


def undraft_team_choices(*, current_team_id, previous_team_id) -> list[TeamChoice]:
    """Teams to rank after an undraft: never an AI-initiative team, never the one being left;
    the person's previous team first, then the rest by name. Open seats are the headcount
    target minus the active members. One query."""
    teams = (
        Team.objects.exclude(kind=Team.Kind.AI_INITIATIVE)
        .exclude(pk=current_team_id)
        .annotate(
            active_members=Count("members", filter=Q(members__is_active=True)),
            previous_first=Case(
                When(pk=previous_team_id, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by("previous_first", "name", "pk")
    )
    return [
        TeamChoice(
            team=team,
            open_seats=max(team.headcount_target - team.active_members, 0)
            if team.headcount_target
            else None,
            is_previous=previous_team_id is not None and team.pk == previous_team_id,
        )
        for team in teams
    ]
