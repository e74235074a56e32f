"""Proposing a move: one person, a retroactive confirmation, or a whole campaign.

A proposal is not a decision: nothing is written to the ledger and nobody moves until the
person opts in. The person is told in the same transaction.

The one home of what a proposal must say before it can be sent: a role description with real
content (`ROLE_DESCRIPTION_MIN_CHARS`, `role_description_errors`), the structured facts people
compare offers by (`FACTS`), and a named contact for questions (the proposer, unless another
is named).
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assignments import emails, events, terms
from assignments.deadlines import new_window_errors
from assignments.models import Campaign, PlacementRequest, Proposal, ProposalEvent
from assignments.services import placement
from assignments.services._shared import event, events_for
from people.models import Employee, Team
from people.selectors import display_name

# A description shorter than this cannot say what the work is, day to day; "x" or "Work."
# must not be the only words a person gets before deciding about their job.
ROLE_DESCRIPTION_MIN_CHARS = 80

# The structured facts a proposal states (all optional here, so every caller keeps working;
# the propose form asks for each). Empty means "not stated", and the terms say so.
FACTS = (
    "grade",
    "pay_band_change",
    "location",
    "new_manager",
    "expected_duration",
    "contact_name",
    "contact_email",
)


def role_description_errors(text: str) -> dict:
    """Why a role description cannot be sent, keyed by field (empty when it can)."""
    length = len(" ".join((text or "").split()))
    if length >= ROLE_DESCRIPTION_MIN_CHARS:
        return {}
    return {
        "role_description": _(
            "Describe the role in at least %(min)s characters (this has %(count)s): what the "
            "person would do day to day, how much of it is data labelling, and what changes "
            "for them. They decide about their job from these words."
        )
        % {"min": ROLE_DESCRIPTION_MIN_CHARS, "count": length}
    }


def _facts(facts: dict, *, actor) -> dict:
    """The structured facts, cleaned; the contact for questions is the proposer unless the
    caller named someone else, so every proposal names a person to ask."""
    unknown = set(facts) - set(FACTS)
    if unknown:
        raise TypeError(f"unknown proposal facts: {sorted(unknown)}")
    cleaned = {name: (facts.get(name) or "").strip() for name in FACTS}
    if cleaned["pay_band_change"] not in ("", *Proposal.PayBandChange.values):
        raise ValidationError({"pay_band_change": _("The pay band change is none, up or down.")})
    if not cleaned["contact_name"] and not cleaned["contact_email"]:
        cleaned["contact_name"] = display_name(actor)
        cleaned["contact_email"] = actor.email or ""
    return cleaned


def _validate_new_proposal(
    *,
    employee,
    to_team,
    start_date,
    response_deadline,
    now,
    kind,
    data_labelling_percent,
    role_description,
    shared_errors: dict | None = None,
):
    """Raise ValidationError naming every reason this proposal cannot be sent.

    `shared_errors`: what `_shared_errors` found for the same words and window, when a batch
    already worked it out once for many people.
    """
    if shared_errors is None:
        shared_errors = _shared_errors(
            role_description=role_description,
            start_date=start_date,
            response_deadline=response_deadline,
            now=now,
            kind=kind,
            data_labelling_percent=data_labelling_percent,
        )
    errors = {}
    if not employee.is_active:
        errors["employee"] = _("%(name)s is no longer active, so nothing can be proposed.") % {
            "name": employee.name
        }
    if kind != Proposal.Kind.RETROACTIVE and employee.team_id == to_team.pk:
        errors["to_team"] = _("%(name)s is already in %(team)s.") % {
            "name": employee.name,
            "team": to_team.name,
        }
    errors = {**shared_errors, **errors}
    if errors:
        raise ValidationError(errors)


def _shared_errors(
    *, role_description, start_date, response_deadline, now, kind, data_labelling_percent
) -> dict:
    """The reasons that do not depend on the person: the words and the response window."""
    errors = role_description_errors(role_description)
    errors.update(
        new_window_errors(
            response_deadline=response_deadline,
            start_date=start_date,
            now=now,
            retroactive=kind == Proposal.Kind.RETROACTIVE,
        )
    )
    if not 0 <= data_labelling_percent <= 100:
        errors["data_labelling_percent"] = _("The data-labelling share is a percentage, 0 to 100.")
    return errors


def _already_open(employee, to_team) -> ValidationError:
    return ValidationError(
        {
            "to_team": _(
                "%(name)s already has an open proposal to %(team)s; extend or withdraw it "
                "instead of proposing again."
            )
            % {"name": employee.name, "team": to_team.name}
        }
    )


@transaction.atomic
def propose_transfer(
    *,
    employee: Employee,
    to_team: Team,
    actor,
    role_description: str,
    start_date: date,
    response_deadline: datetime,
    data_labelling_percent: int = 0,
    campaign: Campaign | None = None,
    kind: str = Proposal.Kind.TRANSFER,
    placement_request: PlacementRequest | None = None,
    from_team: Team | None = None,
    now: datetime | None = None,
    **facts: str,
) -> Proposal:
    """Propose that `employee` joins `to_team`. Nothing happens until they opt in.

    `facts` are the structured facts (`FACTS`: grade, pay_band_change "none"/"up"/"down",
    location, new_manager, expected_duration, contact_name, contact_email), all part of the
    hashed terms.
    """
    now = now or timezone.now()
    facts = _facts(facts, actor=actor)
    # Serialise proposals for one person so the open-proposal rule is checked race-free.
    employee = (
        Employee.objects.select_for_update(of=("self",)).select_related("team").get(pk=employee.pk)
    )
    _validate_new_proposal(
        employee=employee,
        to_team=to_team,
        start_date=start_date,
        response_deadline=response_deadline,
        now=now,
        kind=kind,
        data_labelling_percent=data_labelling_percent,
        role_description=role_description,
    )
    if Proposal.objects.filter(
        employee=employee, to_team=to_team, state__in=Proposal.OPEN_STATES
    ).exists():
        raise _already_open(employee, to_team)
    proposal = Proposal(
        employee=employee,
        subject_user_id=employee.user_id,
        from_team=from_team if kind == Proposal.Kind.RETROACTIVE else employee.team,
        to_team=to_team,
        proposed_by=actor,
        campaign=campaign,
        placement_request=placement_request,
        kind=kind,
        role_description=role_description.strip(),
        data_labelling_percent=data_labelling_percent,
        start_date=start_date,
        response_deadline=response_deadline,
        terms_version=campaign.terms_version if campaign else "1",
        created_at=now,
        **facts,
    )
    terms.issue([proposal], proposer=actor)  # the words shown, stored and pinned by hash
    try:
        with transaction.atomic():
            proposal.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent duplicate slipped past the check above
        raise ValidationError(
            {
                "to_team": _("%(name)s already has an open proposal to %(team)s.")
                % {"name": employee.name, "team": to_team.name}
            }
        ) from exc
    event(proposal, ProposalEvent.Kind.PROPOSED, actor=actor, at=now)
    if placement_request is not None:
        placement.mark_offered(placement_request.pk)
    emails.proposals_arrived([proposal], proposer=actor)
    events.proposals_created([proposal])
    return proposal


class ItemsRejected(ValidationError):
    """Some items of a batch cannot be proposed, so nothing was written. `items` lists
    `{"index": n, "errors": {field: [message, ...]}}` for each refused item, in input order."""

    def __init__(self, items: list[dict]):
        super().__init__(_("Some items cannot be proposed; nothing was created."))
        self.items = items


@transaction.atomic
def propose_transfers(*, items: list[dict], actor, now: datetime | None = None) -> list[Proposal]:
    """Propose many transfers at once (the API's bulk request), all or nothing.

    Each item holds what `propose_transfer` takes: employee, to_team, role_description,
    start_date, response_deadline, data_labelling_percent and optional `facts`. The same
    rules apply to each item, and two items for the same person and team are refused like a
    second proposal would be. If any item is refused, nothing is written and `ItemsRejected`
    names every refused item by its index. The number of queries does not grow with the
    number of items (a few per 1,000): people are locked in one query, open proposals read
    in one, and proposals, events, notices and outbox events written in bulk.
    """
    now = now or timezone.now()
    # Serialise proposals for these people (in id order, so two batches cannot deadlock),
    # as propose_transfer does for one, so the open-proposal rule is checked race-free.
    ids = sorted({item["employee"].pk for item in items})
    locked = Employee.objects.select_for_update(of=("self",)).select_related("team")
    people = locked.in_bulk(ids)
    already_open = set(
        Proposal.objects.filter(employee_id__in=ids, state__in=Proposal.OPEN_STATES).values_list(
            "employee_id", "to_team_id"
        )
    )
    refused, proposals = [], []
    unstated = _facts({}, actor=actor)  # the same for every item that states no facts
    shared: dict[tuple, dict] = {}  # items with the same words and window share one check
    for index, item in enumerate(items):
        employee, to_team = people[item["employee"].pk], item["to_team"]
        window = dict(
            role_description=item["role_description"],
            start_date=item["start_date"],
            response_deadline=item["response_deadline"],
            data_labelling_percent=item.get("data_labelling_percent", 0),
        )
        key = tuple(window.values())
        if key not in shared:
            shared[key] = _shared_errors(**window, now=now, kind=Proposal.Kind.TRANSFER)
        try:
            facts = _facts(item["facts"], actor=actor) if item.get("facts") else unstated
            _validate_new_proposal(
                employee=employee,
                to_team=to_team,
                now=now,
                kind=Proposal.Kind.TRANSFER,
                shared_errors=shared[key],
                **window,
            )
            if (employee.pk, to_team.pk) in already_open:
                raise _already_open(employee, to_team)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            refused.append({"index": index, "errors": errors})
            continue
        already_open.add((employee.pk, to_team.pk))  # a second item for them is refused too
        proposals.append(
            Proposal(
                employee=employee,
                subject_user_id=employee.user_id,
                from_team=employee.team,
                to_team=to_team,
                proposed_by=actor,
                kind=Proposal.Kind.TRANSFER,
                role_description=item["role_description"].strip(),
                data_labelling_percent=item.get("data_labelling_percent", 0),
                start_date=item["start_date"],
                response_deadline=item["response_deadline"],
                terms_version="1",
                created_at=now,
                **facts,
            )
        )
    if refused:
        raise ItemsRejected(refused)
    terms.issue(proposals, proposer=actor)  # the words shown, stored and pinned by hash
    try:
        with transaction.atomic():
            Proposal.objects.bulk_create(proposals, batch_size=1000)
    except IntegrityError as exc:  # a concurrent proposal slipped in: retry the whole batch
        raise ValidationError(
            _(
                "Another open proposal for one of these people was made at the same moment; "
                "send the request again."
            )
        ) from exc
    events_for(
        [p.pk for p in proposals],
        ProposalEvent.Kind.PROPOSED,
        at=now,
        actor_id=getattr(actor, "pk", None),
    )
    # Keys are new: these proposals were created a moment ago, in this transaction.
    emails.proposals_arrived(proposals, proposer=actor, keys_are_new=True)
    events.proposals_created(proposals)
    return proposals


def propose_retroactive_confirmation(
    *,
    employee: Employee,
    previous_team: Team | None,
    actor,
    role_description: str,
    moved_on: date,
    response_deadline: datetime,
    data_labelling_percent: int = 0,
    campaign: Campaign | None = None,
    now: datetime | None = None,
    **facts: str,
) -> Proposal:
    """Ask someone moved before the portal existed to confirm ("stay") or undraft.

    Expiry never counts as consent: the person is then listed as "no consent on record".
    """
    if employee.team_id is None:
        raise ValidationError(
            {"employee": _("%(name)s has no current team to confirm.") % {"name": employee.name}}
        )
    return propose_transfer(
        employee=employee,
        to_team=employee.team,
        from_team=previous_team,
        actor=actor,
        role_description=role_description,
        start_date=moved_on,
        response_deadline=response_deadline,
        data_labelling_percent=data_labelling_percent,
        campaign=campaign,
        kind=Proposal.Kind.RETROACTIVE,
        now=now,
        **facts,
    )


@transaction.atomic
def propose_campaign(
    *,
    campaign: Campaign,
    employees,
    to_team: Team,
    actor,
    role_description: str,
    start_date: date,
    response_deadline: datetime,
    now: datetime | None = None,
    **facts: str,
) -> list[Proposal]:
    """Propose the same move to many people at once, all or nothing.

    Every person gets their own proposal and decides alone. If any of them cannot receive
    one, nothing is written and the error names each of them. `facts` as for
    `propose_transfer`, the same for everyone.
    """
    now = now or timezone.now()
    facts = _facts(facts, actor=actor)
    description_errors = role_description_errors(role_description)
    if description_errors:
        raise ValidationError(description_errors)
    employees = list(
        Employee.objects.select_for_update(of=("self",))
        .select_related("team")
        .filter(pk__in=[e.pk for e in employees])
        .order_by("pk")
    )
    already_open = set(
        Proposal.objects.filter(
            employee__in=employees, to_team=to_team, state__in=Proposal.OPEN_STATES
        ).values_list("employee_id", flat=True)
    )
    problems = []
    proposals = []
    for employee in employees:
        if employee.pk in already_open:
            problems.append(
                _("%(name)s already has an open proposal to %(team)s.")
                % {"name": employee.name, "team": to_team.name}
            )
            continue
        try:
            _validate_new_proposal(
                employee=employee,
                to_team=to_team,
                start_date=start_date,
                response_deadline=response_deadline,
                now=now,
                kind=Proposal.Kind.TRANSFER,
                data_labelling_percent=campaign.data_labelling_percent,
                role_description=role_description,
            )
        except ValidationError as exc:
            problems.extend(f"{employee.name}: {m}" for m in exc.messages)
            continue
        proposals.append(
            Proposal(
                employee=employee,
                subject_user_id=employee.user_id,
                from_team=employee.team,
                to_team=to_team,
                proposed_by=actor,
                campaign=campaign,
                kind=Proposal.Kind.TRANSFER,
                role_description=role_description.strip(),
                data_labelling_percent=campaign.data_labelling_percent,
                start_date=start_date,
                response_deadline=response_deadline,
                terms_version=campaign.terms_version,
                created_at=now,
                **facts,
            )
        )
    if problems:
        raise ValidationError(problems)
    terms.issue(proposals, proposer=actor)
    Proposal.objects.bulk_create(proposals, batch_size=1000)
    events_for(
        [p.pk for p in proposals],
        ProposalEvent.Kind.PROPOSED,
        at=now,
        actor_id=getattr(actor, "pk", None),
    )
    # Keys are new: these proposals were created a moment ago, in this transaction.
    emails.proposals_arrived(proposals, proposer=actor, keys_are_new=True)
    events.proposals_created(proposals)
    return proposals
