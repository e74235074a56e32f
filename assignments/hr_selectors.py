"""Reads for the HR workspace (and the employee's own placement status), already joined.

Each page's reads are a fixed number of queries whatever the size of the company: lists are
paginated, related rows are joined or prefetched here, counts are aggregated in the database.
Consent dashboards are not here: they belong to `reports/`, with their suppression.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import (
    CharField,
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from assignments.models import Campaign, PlacementPreference, PlacementRequest, Proposal
from notifications.models import Notification
from people.models import Employee, Team

OPEN_REQUESTS = (PlacementRequest.State.OPEN, PlacementRequest.State.OFFERED)


# --- The landing page ---------------------------------------------------------------------


def workspace_summary() -> dict:
    """The figures on /hr/: campaigns by state, the placement queue, people on leave."""
    campaigns = Campaign.objects.aggregate(
        drafts=Count("pk", filter=Q(state=Campaign.State.DRAFT)),
        sending=Count("pk", filter=Q(state=Campaign.State.QUEUED)),
        sent=Count("pk", filter=Q(state=Campaign.State.SENT)),
    )
    is_open = Q(state=PlacementRequest.State.OPEN)
    queue = PlacementRequest.objects.filter(state__in=OPEN_REQUESTS).aggregate(
        open=Count("pk", filter=is_open),
        offered=Count("pk", filter=Q(state=PlacementRequest.State.OFFERED)),
        oldest_waiting_since=Min("created_at", filter=is_open),
    )
    on_leave = Employee.objects.filter(on_leave_since__isnull=False, is_active=True).count()
    return {**campaigns, **queue, "on_leave": on_leave}


# --- Campaigns ----------------------------------------------------------------------------


def campaigns_for_hr() -> QuerySet[Campaign]:
    """Every campaign, newest first, with how many proposals each has sent."""
    return (
        Campaign.objects.select_related("created_by", "sent_by")
        .annotate(proposal_count=Count("proposals"))
        .order_by("-created_at", "-id")
    )


def campaign_for_hr(pk: int) -> QuerySet[Campaign]:
    return Campaign.objects.filter(pk=pk).select_related("created_by", "sent_by")


@dataclass
class AudienceRow:
    from_team: str
    to_team: str
    count: int
    sample_id: int  # someone from this team, for "preview as"


def audience_breakdown(campaign: Campaign) -> list[AudienceRow]:
    """How many people each team contributes to the chosen audience (before sending, from
    the frozen audience; people's current teams). Two queries."""
    pairs = campaign.audience or []
    if not pairs:
        return []
    destination = dict(pairs)
    rows = Employee.objects.filter(pk__in=list(destination)).values_list(
        "pk", "team_id", "team__name"
    )
    team_names = dict(
        Team.objects.filter(pk__in=set(destination.values())).values_list("pk", "name")
    )
    counts, samples = Counter(), {}
    for pk, _team_id, team_name in rows:
        key = (team_name or _("no team"), team_names.get(destination[pk], ""))
        counts[key] += 1
        samples.setdefault(key, pk)
    return [
        AudienceRow(from_team=k[0], to_team=k[1], count=n, sample_id=samples[k])
        for k, n in sorted(counts.items())
    ]


def audience_member(campaign: Campaign, employee_id: int | None) -> tuple[Employee, Team] | None:
    """One person of the audience (the first, unless asked for another) and their destination."""
    pairs = campaign.audience or []
    if not pairs:
        return None
    destination = dict(pairs)
    pk = employee_id if employee_id in destination else pairs[0][0]
    employee = Employee.objects.select_related("team", "user").filter(pk=pk).first()
    team = Team.objects.filter(pk=destination[pk]).first()
    if employee is None or team is None:
        return None
    return employee, team


@dataclass
class Progress:
    state: str
    audience: int
    proposals: int
    sent: int = 0
    pending: int = 0
    failed: int = 0
    in_app_only: int = 0

    @property
    def notices(self) -> int:
        return self.sent + self.pending + self.failed + self.in_app_only

    @property
    def done(self) -> bool:
        """Every proposal exists and no notice is still waiting to go out."""
        return self.state == Campaign.State.SENT and self.pending == 0

    @property
    def delivered(self) -> int:
        return self.sent + self.failed + self.in_app_only


def campaign_progress(campaign: Campaign) -> Progress:
    """Where a send stands: proposals created, and their "new proposal" notices by email
    state. Two queries, whatever the campaign's size: the notices are found by their dedupe
    key (`proposal_arrived:<proposal id>`), computed in the database."""
    proposals = Proposal.objects.filter(campaign=campaign)
    keys = proposals.annotate(
        key=Concat(Value("proposal_arrived:"), Cast("pk", CharField()), output_field=CharField())
    ).values("key")
    by_state = dict(
        Notification.objects.filter(kind=Notification.Kind.PROPOSAL_ARRIVED, dedupe_key__in=keys)
        .values_list("email_state")
        .annotate(n=Count("pk"))
        .values_list("email_state", "n")
    )
    State = Notification.EmailState
    return Progress(
        state=campaign.state,
        audience=len(campaign.audience or []),
        proposals=proposals.count(),
        sent=by_state.get(State.SENT, 0),
        pending=by_state.get(State.PENDING, 0),
        failed=by_state.get(State.FAILED, 0),
        in_app_only=by_state.get(State.NONE, 0),
    )


MANAGER_SUGGESTIONS = 10  # the picker shows at most this many matches at a time
MANAGER_QUERY_MIN_CHARS = 2


def _with_report_count(people: QuerySet[Employee]) -> QuerySet[Employee]:
    """Only people with an active direct report, each with how many (one subquery each, so
    the cost follows the few matches shown, not the whole organisation)."""
    reports = (
        Employee.objects.filter(manager=OuterRef("pk"), is_active=True)
        .order_by()
        .values("manager")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        people.filter(is_active=True)
        .filter(Exists(Employee.objects.filter(manager=OuterRef("pk"), is_active=True)))
        .annotate(report_count=Subquery(reports, output_field=IntegerField()))
    )


def manager_suggestions(query: str) -> list[Employee]:
    """The managers the picker suggests for what HR typed: part of a name, or the start of an
    email, or an employee id; alphabetical, at most MANAGER_SUGGESTIONS."""
    query = " ".join(query.split())
    # No stored name or address holds a NUL (PostgreSQL text cannot): such a query finds nobody.
    if len(query) < MANAGER_QUERY_MIN_CHARS or "\x00" in query:
        return []
    matches = Employee.objects.filter(
        Q(name__icontains=query) | Q(email__istartswith=query) | Q(external_id__iexact=query)
    )
    return list(_with_report_count(matches).order_by("name", "pk")[:MANAGER_SUGGESTIONS])


def manager_by_pk(pk: int) -> Employee | None:
    """A suggestion HR picked (by its id), if that person still has active reports."""
    return _with_report_count(Employee.objects.filter(pk=pk)).first()


def manager_by_identifier(query: str) -> Employee | None:
    """The manager with exactly this email or employee id (the picker's plain fallback)."""
    query = query.strip()
    if not query:
        return None
    exact = Employee.objects.filter(Q(email__iexact=query) | Q(external_id=query))
    return _with_report_count(exact).order_by("pk").first()


def members_of(teams) -> QuerySet[Employee]:
    return Employee.objects.filter(team__in=teams).select_related("team").order_by("pk")


def reports_of(manager: Employee) -> QuerySet[Employee]:
    return Employee.objects.filter(manager=manager).select_related("team").order_by("pk")


# --- The placement queue ------------------------------------------------------------------


def open_seats(team_ids) -> dict[int, int]:
    """Open seats per team: its headcount target minus its current active members."""
    return {
        pk: max(target - members, 0)
        for pk, target, members in Team.objects.filter(pk__in=set(team_ids))
        .annotate(members_now=Count("members", filter=Q(members__is_active=True)))
        .values_list("pk", "headcount_target", "members_now")
    }


def placement_queue() -> QuerySet[PlacementRequest]:
    """Requests still waiting to be filled: highest priority first, then longest waiting.
    Each carries its ranked preferences and any offer still waiting for an answer."""
    return (
        PlacementRequest.objects.filter(state__in=OPEN_REQUESTS)
        .select_related("employee", "employee__team", "source_proposal__to_team")
        .prefetch_related(
            Prefetch(
                "preferences",
                queryset=PlacementPreference.objects.select_related("team").order_by("rank"),
            ),
            Prefetch(
                "offers",
                queryset=Proposal.objects.filter(state__in=Proposal.OPEN_STATES).select_related(
                    "to_team"
                ),
                to_attr="open_offers",
            ),
        )
        .order_by("-priority", "created_at", "id")
    )


def with_seats(requests) -> list[PlacementRequest]:
    """Mark each request's preferences with the open seats of their team (one query for the
    page): `preference.seats`, and `request.matching` for those with a seat free."""
    requests = list(requests)
    seats = open_seats(p.team_id for r in requests for p in r.preferences.all())
    for request in requests:
        request.ranked = list(request.preferences.all())
        for preference in request.ranked:
            preference.seats = seats.get(preference.team_id, 0)
        request.matching = [p for p in request.ranked if p.seats > 0]
        request.open_offer = request.open_offers[0] if request.open_offers else None
    return requests


def placement_request_for_hr(pk: int) -> QuerySet[PlacementRequest]:
    return placement_queue().filter(pk=pk)


def offer_teams(request: PlacementRequest) -> list[Team]:
    """Teams HR may offer: the person's preferences first (in their order), then every other
    team, never the one they are in."""
    preferred = [p.team for p in request.preferences.all()]
    others = Team.objects.exclude(pk__in=[t.pk for t in preferred])
    if request.employee.team_id:
        others = others.exclude(pk=request.employee.team_id)
    return [t for t in preferred if t.pk != request.employee.team_id] + list(others)


# --- Leave --------------------------------------------------------------------------------


def people_on_leave() -> QuerySet[Employee]:
    return (
        Employee.objects.filter(on_leave_since__isnull=False)
        .select_related("team")
        .order_by("on_leave_since", "pk")
    )


def find_person(query: str) -> Employee | None:
    """Someone by email or HRIS employee id (exact, case-insensitive email)."""
    query = query.strip()
    if not query:
        return None
    return (
        Employee.objects.select_related("team")
        .filter(Q(email__iexact=query) | Q(external_id=query))
        .first()
    )


# --- The employee's own placement status ---------------------------------------------------


@dataclass
class HistoryItem:
    at: datetime
    text: str
    url: str = ""


@dataclass
class PlacementStatus:
    request: PlacementRequest
    preferences: list[str]
    history: list[HistoryItem] = field(default_factory=list)


def _day(moment) -> str:
    return formats.date_format(timezone.localdate(moment), "DATE_FORMAT")


def _offer_history(offer: Proposal) -> list[HistoryItem]:
    url = reverse("assignments:proposal", args=[offer.pk])
    team = {"team": offer.to_team.name}
    items = [HistoryItem(offer.created_at, _("HR offered you a seat in %(team)s.") % team, url)]
    decided = offer.decided_at or offer.created_at
    S = Proposal.State
    if offer.state == S.PENDING:
        items.append(
            HistoryItem(
                offer.created_at,
                _("The offer is waiting for your answer until %(day)s.")
                % {"day": _day(offer.response_deadline)},
                url,
            )
        )
    elif offer.state == S.OPTED_IN:
        items.append(
            HistoryItem(
                decided,
                _("You accepted; you join %(team)s on %(day)s.")
                % {**team, "day": formats.date_format(offer.start_date, "DATE_FORMAT")},
                url,
            )
        )
    elif offer.state == S.OPTED_OUT:
        items.append(
            HistoryItem(
                decided, _("You declined. Your request stayed open with its priority."), url
            )
        )
    elif offer.state == S.EXPIRED:
        items.append(
            HistoryItem(
                decided,
                _("The offer lapsed without an answer. Your request stayed open."),
                url,
            )
        )
    elif offer.state == S.WITHDRAWN:
        items.append(
            HistoryItem(decided, _("HR withdrew the offer. Your request stayed open."), url)
        )
    elif offer.state == S.EFFECTIVE:
        moved = getattr(offer, "move", None)
        items.append(
            HistoryItem(
                moved.applied_at if moved else decided,
                _("You joined %(team)s.") % team,
                url,
            )
        )
    return items


def placement_status_for(employee: Employee | None) -> list[PlacementStatus]:
    """The person's own placement requests, newest first, each with its status and history
    (opened, every offer and what became of it, placed). Three queries."""
    if employee is None:
        return []
    requests = (
        PlacementRequest.objects.filter(employee=employee)
        .select_related("source_proposal__to_team")
        .prefetch_related(
            Prefetch(
                "preferences",
                queryset=PlacementPreference.objects.select_related("team").order_by("rank"),
            ),
            Prefetch(
                "offers",
                queryset=Proposal.objects.select_related("to_team", "move").order_by(
                    "created_at", "id"
                ),
            ),
        )
        .order_by("-created_at", "-id")
    )
    statuses = []
    for request in requests:
        history = [
            HistoryItem(
                request.created_at,
                _("You asked to be placed outside %(team)s, with preferential priority.")
                % {"team": request.source_proposal.to_team.name},
            )
        ]
        for offer in request.offers.all():
            history += _offer_history(offer)
        if request.state == PlacementRequest.State.FILLED:
            history.append(HistoryItem(history[-1].at, _("Your request is closed: placed.")))
        elif request.state == PlacementRequest.State.CANCELLED:
            history.append(HistoryItem(history[-1].at, _("Your request was cancelled.")))
        statuses.append(
            PlacementStatus(
                request=request,
                preferences=[p.team.name for p in request.preferences.all()],
                history=history,
            )
        )
    return statuses
