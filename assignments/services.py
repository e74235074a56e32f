"""Every state change of a proposal, in one place.

The state machine (DESIGN.md):

    pending  -> opted_in -> effective        (employee opts in; the move applies on start date)
    pending  -> opted_out                    (employee opts out)
    opted_in -> opted_out                    (employee withdraws consent before the move)
    pending  -> expired                      (deadline passed in silence: never consent)
    pending | opted_in -> withdrawn          (proposer withdraws)

Terminal states are final. Each service locks the proposal row, checks the state, saves only
what changed, appends a ProposalEvent (and a ledger record for the employee's own decisions),
and returns. Services trust the caller to have checked who may act, except for the one rule
that is the product's reason to exist: only the person decides about themselves.
"""

from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from assignments import tasks
from assignments.deadlines import add_working_days, minimum_deadline
from assignments.models import (
    Campaign,
    Move,
    PlacementPreference,
    PlacementRequest,
    Proposal,
    ProposalEvent,
)
from assignments.terms import proposal_terms, terms_sha256
from consent.models import ConsentRecord
from consent.services import RequestContext, append_record, append_system_records
from notifications import emails
from outbox.services import record_event
from people.models import Employee, Team
from portal.celery import enqueue_after_commit
from portal.errors import TransitionError

PROPOSAL = "proposal"  # the ledger's `about_kind` for proposals
State = Proposal.State
Action = ConsentRecord.Action


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _state_error(proposal: Proposal, attempted: str) -> TransitionError:
    reasons = {
        State.OPTED_IN: _("you already opted in"),
        State.EFFECTIVE: _("the move has already taken effect"),
        State.OPTED_OUT: _("it was already declined"),
        State.EXPIRED: _("its response deadline passed without an answer, so it expired"),
        State.WITHDRAWN: _("the proposer withdrew it"),
        State.PENDING: _("it is still waiting for an answer"),
    }
    return TransitionError(
        _("You cannot %(action)s this proposal: %(reason)s.")
        % {"action": attempted, "reason": reasons[proposal.state]}
    )


def _lock(proposal: Proposal) -> Proposal:
    return (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("employee", "employee__user", "to_team")
        .get(pk=proposal.pk)
    )


def _ensure_is_subject(proposal: Proposal, actor) -> None:
    # Invariant 4: nobody records a decision on someone else's behalf, whatever their role.
    if actor is None or actor.pk != proposal.employee.user_id:
        raise PermissionDenied(_("Only the person this proposal is about can decide on it."))


def _ensure_before_deadline(proposal: Proposal, now: datetime) -> None:
    if now > proposal.response_deadline:
        raise TransitionError(
            _(
                "The response deadline passed on %(deadline)s, so this proposal has expired; "
                "nothing will change for you."
            )
            % {"deadline": _when(proposal.response_deadline)}
        )


def _event(proposal, kind, actor=None, at=None, **detail) -> ProposalEvent:
    return ProposalEvent.objects.create(
        proposal=proposal, kind=kind, actor=actor, at=at or timezone.now(), detail=detail
    )


def _ledger(proposal: Proposal, *, action, actor, context, private_reason="", now=None):
    return append_record(
        subject=proposal.employee.user,
        about_kind=PROPOSAL,
        about_id=proposal.pk,
        action=action,
        terms_sha256=proposal.terms_sha256,
        terms_version=proposal.terms_version,
        actor=actor,
        context=context,
        private_reason=private_reason,
        recorded_at=now,
    )


# --- Proposing ----------------------------------------------------------------------------


def _validate_new_proposal(
    *, employee, to_team, start_date, response_deadline, now, kind, data_labelling_percent
):
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
    earliest = minimum_deadline(now)
    if response_deadline < earliest:
        errors["response_deadline"] = _(
            "The response deadline must leave at least %(days)s working days to decide: "
            "choose %(earliest)s or later."
        ) % {"days": _working_days(), "earliest": _when(earliest)}
    elif kind != Proposal.Kind.RETROACTIVE and start_date < timezone.localdate(response_deadline):
        errors["start_date"] = _(
            "The start date must be on or after the response deadline (%(deadline)s)."
        ) % {"deadline": formats.date_format(timezone.localdate(response_deadline))}
    if not 0 <= data_labelling_percent <= 100:
        errors["data_labelling_percent"] = _("The data-labelling share is a percentage, 0 to 100.")
    if errors:
        raise ValidationError(errors)


def _working_days() -> int:
    from django.conf import settings

    return settings.PORTAL_MIN_RESPONSE_WORKING_DAYS


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
) -> Proposal:
    """Propose that `employee` joins `to_team`. Nothing happens until they opt in."""
    now = now or timezone.now()
    # Serialise proposals for one person so the open-proposal rule is checked race-free.
    employee = (
        Employee.objects.select_for_update(of=("self",)).select_related("team").get(pk=employee.pk)
    )
    if not role_description.strip():
        raise ValidationError(
            {"role_description": _("Describe the role honestly before proposing.")}
        )
    _validate_new_proposal(
        employee=employee,
        to_team=to_team,
        start_date=start_date,
        response_deadline=response_deadline,
        now=now,
        kind=kind,
        data_labelling_percent=data_labelling_percent,
    )
    if Proposal.objects.filter(
        employee=employee, to_team=to_team, state__in=Proposal.OPEN_STATES
    ).exists():
        raise ValidationError(
            {
                "to_team": _(
                    "%(name)s already has an open proposal to %(team)s; extend or withdraw it "
                    "instead of proposing again."
                )
                % {"name": employee.name, "team": to_team.name}
            }
        )
    proposal = Proposal(
        employee=employee,
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
    )
    proposal.terms_sha256 = terms_sha256(proposal)
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
    _event(proposal, ProposalEvent.Kind.PROPOSED, actor=actor, at=now)
    if placement_request is not None:
        PlacementRequest.objects.filter(pk=placement_request.pk).update(
            state=PlacementRequest.State.OFFERED
        )
    enqueue_after_commit(tasks.notify_proposals_arrived, [proposal.pk])
    return proposal


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
) -> list[Proposal]:
    """Propose the same move to many people at once, all or nothing.

    Every person gets their own proposal and decides alone. If any of them cannot receive
    one, nothing is written and the error names each of them.
    """
    now = now or timezone.now()
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
            )
        except ValidationError as exc:
            problems.extend(f"{employee.name}: {m}" for m in exc.messages)
            continue
        proposal = Proposal(
            employee=employee,
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
        )
        proposal.terms_sha256 = _fingerprint(proposal, employee, campaign, to_team)
        proposals.append(proposal)
    if problems:
        raise ValidationError(problems)
    Proposal.objects.bulk_create(proposals, batch_size=1000)
    ProposalEvent.objects.bulk_create(
        [
            ProposalEvent(proposal=p, kind=ProposalEvent.Kind.PROPOSED, actor=actor, at=now)
            for p in proposals
        ],
        batch_size=1000,
    )
    enqueue_after_commit(tasks.notify_proposals_arrived, [p.pk for p in proposals])
    return proposals


def _fingerprint(proposal, employee, campaign, to_team) -> str:
    # Same terms as assignments.terms.terms_for, without re-reading related rows per person.
    from consent.ledger import sha256_of

    return sha256_of(
        proposal_terms(
            kind=proposal.kind,
            employee_name=employee.name,
            from_team=employee.team.name if employee.team else None,
            to_team=to_team.name,
            role_description=proposal.role_description,
            data_labelling_percent=proposal.data_labelling_percent,
            start_date=proposal.start_date,
            campaign_name=campaign.name,
            campaign_description=campaign.description,
            terms_version=proposal.terms_version,
        )
    )


# --- The employee decides ------------------------------------------------------------------


def _decide(
    proposal: Proposal, *, action, new_state, event_kind, actor, context, now, private_reason=""
) -> ConsentRecord:
    """The common tail of every decision: ledger record, new state, event, receipt."""
    record = _ledger(
        proposal,
        action=action,
        actor=actor,
        context=context,
        private_reason=private_reason.strip(),
        now=now,
    )
    proposal.state = new_state
    proposal.decided_at = now
    proposal.save(update_fields=["state", "decided_at"])
    _event(proposal, event_kind, actor=actor, at=now)
    enqueue_after_commit(tasks.notify_decision, record.pk)
    return record


@transaction.atomic
def opt_in(
    *,
    proposal: Proposal,
    actor,
    terms_sha256: str,
    context: RequestContext,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record the employee's own opt-in to the exact terms they were shown.

    A retroactive confirmation ("stay") takes effect at once: the person is already there.
    """
    now = now or timezone.now()
    proposal = _lock(proposal)
    _ensure_is_subject(proposal, actor)
    if proposal.state != State.PENDING:
        raise _state_error(proposal, _("opt in to"))
    _ensure_before_deadline(proposal, now)
    if terms_sha256 != proposal.terms_sha256:
        raise TransitionError(
            _("The terms of this proposal are not the ones you were shown; read them again.")
        )
    if proposal.kind != Proposal.Kind.RETROACTIVE:
        # Lock the person so two opt-ins to different moves cannot both pass this check.
        Employee.objects.select_for_update().filter(pk=proposal.employee_id).first()
        other = (
            Proposal.objects.filter(employee=proposal.employee, state=State.OPTED_IN)
            .exclude(pk=proposal.pk)
            .select_related("to_team")
            .first()
        )
        if other is not None:
            raise TransitionError(
                _(
                    "You have already accepted a move to %(team)s starting %(start)s; withdraw "
                    "that consent first if you prefer this one."
                )
                % {"team": other.to_team.name, "start": formats.date_format(other.start_date)}
            )
    return _decide(
        proposal,
        action=Action.OPT_IN,
        # A retroactive "stay" confirms where the person already is: nothing left to apply.
        new_state=State.EFFECTIVE if proposal.kind == Proposal.Kind.RETROACTIVE else State.OPTED_IN,
        event_kind=ProposalEvent.Kind.OPTED_IN,
        actor=actor,
        context=context,
        now=now,
    )


def _reopen_placement_request(proposal: Proposal) -> None:
    # A declined or lapsed placement offer leaves the person's request open for the next one.
    if proposal.placement_request_id:
        PlacementRequest.objects.filter(
            pk=proposal.placement_request_id, state=PlacementRequest.State.OFFERED
        ).update(state=PlacementRequest.State.OPEN)


def _open_placement_request(
    *, employee, source_proposal, team_preferences, note=""
) -> PlacementRequest:
    if PlacementRequest.objects.filter(
        employee=employee,
        state__in=[PlacementRequest.State.OPEN, PlacementRequest.State.OFFERED],
    ).exists():
        raise TransitionError(_("You already have an open placement request; HR is working on it."))
    teams = list(team_preferences or [])
    if len({t.pk for t in teams}) != len(teams):
        raise ValidationError({"team_preferences": _("Each team can be ranked only once.")})
    request = PlacementRequest.objects.create(
        employee=employee,
        source_proposal=source_proposal,
        priority=PlacementRequest.Priority.PREFERENTIAL,
        note=note,
    )
    PlacementPreference.objects.bulk_create(
        [PlacementPreference(request=request, team=t, rank=i) for i, t in enumerate(teams, 1)]
    )
    enqueue_after_commit(tasks.notify_placement_requested, request.pk)
    return request


@transaction.atomic
def opt_out(
    *,
    proposal: Proposal,
    actor,
    context: RequestContext,
    private_reason: str = "",
    team_preferences: list[Team] | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """Decline a pending proposal. One action, free, with an optional private reason.

    For a retroactive confirmation this is the "undraft": it also opens a preferential
    placement request with the person's ranked team preferences.
    """
    now = now or timezone.now()
    proposal = _lock(proposal)
    _ensure_is_subject(proposal, actor)
    if proposal.state != State.PENDING:
        raise _state_error(proposal, _("opt out of"))
    _ensure_before_deadline(proposal, now)
    record = _decide(
        proposal,
        action=Action.OPT_OUT,
        new_state=State.OPTED_OUT,
        event_kind=ProposalEvent.Kind.OPTED_OUT,
        actor=actor,
        context=context,
        now=now,
        private_reason=private_reason,
    )
    if proposal.kind == Proposal.Kind.RETROACTIVE:
        _open_placement_request(
            employee=proposal.employee, source_proposal=proposal, team_preferences=team_preferences
        )
    _reopen_placement_request(proposal)
    return record


@transaction.atomic
def withdraw_consent(
    *,
    proposal: Proposal,
    actor,
    context: RequestContext,
    private_reason: str = "",
    now: datetime | None = None,
) -> ConsentRecord:
    """Take back an opt-in before the move takes effect. One action; nothing moves."""
    now = now or timezone.now()
    proposal = _lock(proposal)
    _ensure_is_subject(proposal, actor)
    if proposal.state != State.OPTED_IN:
        raise _state_error(proposal, _("withdraw consent from"))
    record = _decide(
        proposal,
        action=Action.WITHDRAW,
        new_state=State.OPTED_OUT,
        event_kind=ProposalEvent.Kind.CONSENT_WITHDRAWN,
        actor=actor,
        context=context,
        now=now,
        private_reason=private_reason,
    )
    _reopen_placement_request(proposal)
    return record


@transaction.atomic
def undraft(
    *,
    proposal: Proposal,
    actor,
    context: RequestContext,
    team_preferences: list[Team],
    private_reason: str = "",
    now: datetime | None = None,
) -> PlacementRequest:
    """After a move (or a confirmed retroactive one), ask to leave: preferential placement."""
    now = now or timezone.now()
    proposal = _lock(proposal)
    _ensure_is_subject(proposal, actor)
    if proposal.state != State.EFFECTIVE:
        raise _state_error(proposal, _("undraft from"))
    employee = Employee.objects.select_for_update().get(pk=proposal.employee_id)
    if employee.team_id != proposal.to_team_id:
        raise TransitionError(
            _("You are no longer in %(team)s, so there is nothing to undraft from.")
            % {"team": proposal.to_team.name}
        )
    request = _open_placement_request(
        employee=employee, source_proposal=proposal, team_preferences=team_preferences
    )
    record = _ledger(
        proposal,
        action=Action.UNDRAFT,
        actor=actor,
        context=context,
        private_reason=private_reason.strip(),
        now=now,
    )
    _event(proposal, ProposalEvent.Kind.UNDRAFTED, actor=actor, at=now)
    enqueue_after_commit(tasks.notify_decision, record.pk)
    return request


# --- The proposer acts ----------------------------------------------------------------------


@transaction.atomic
def withdraw_proposal(*, proposal: Proposal, actor, now: datetime | None = None) -> Proposal:
    """The proposer (or HR) takes a proposal back before it takes effect."""
    now = now or timezone.now()
    proposal = _lock(proposal)
    if proposal.state not in Proposal.OPEN_STATES:
        raise _state_error(proposal, _("withdraw"))
    proposal.state = State.WITHDRAWN
    proposal.decided_at = now
    proposal.save(update_fields=["state", "decided_at"])
    _event(proposal, ProposalEvent.Kind.WITHDRAWN, actor=actor, at=now)
    _reopen_placement_request(proposal)
    enqueue_after_commit(tasks.notify_proposal_withdrawn, proposal.pk)
    return proposal


@transaction.atomic
def extend_deadline(
    *, proposal: Proposal, actor, new_deadline: datetime, now: datetime | None = None
) -> Proposal:
    """Give the person more time. Shortening an open window is never allowed."""
    now = now or timezone.now()
    proposal = _lock(proposal)
    if proposal.state != State.PENDING:
        raise _state_error(proposal, _("extend"))
    if now > proposal.response_deadline:
        raise TransitionError(
            _("The deadline already passed on %(deadline)s; the proposal has expired.")
            % {"deadline": _when(proposal.response_deadline)}
        )
    if new_deadline <= proposal.response_deadline:
        raise ValidationError(
            {
                "response_deadline": _(
                    "A deadline can only be extended: choose a moment after %(deadline)s."
                )
                % {"deadline": _when(proposal.response_deadline)}
            }
        )
    if (
        proposal.kind != Proposal.Kind.RETROACTIVE
        and timezone.localdate(new_deadline) > proposal.start_date
    ):
        raise ValidationError(
            {
                "response_deadline": _(
                    "The new deadline would fall after the start date (%(start)s); withdraw this "
                    "proposal and propose a later start instead."
                )
                % {"start": formats.date_format(proposal.start_date)}
            }
        )
    previous = proposal.response_deadline
    proposal.response_deadline = new_deadline
    proposal.save(update_fields=["response_deadline"])
    event = _event(
        proposal,
        ProposalEvent.Kind.EXTENDED,
        actor=actor,
        at=now,
        previous=previous.isoformat(),
        new=new_deadline.isoformat(),
    )
    enqueue_after_commit(tasks.notify_deadline_extended, proposal.pk, event.pk)
    return proposal


# --- Time passes (called by the periodic sweep) ----------------------------------------------


@transaction.atomic
def expire_overdue_proposals(*, now: datetime | None = None, limit: int = 10_000) -> list[int]:
    """Expire pending proposals whose deadline has passed. Silence is never consent.

    Rows are claimed with FOR UPDATE SKIP LOCKED and updated only while still pending, so a
    decision racing with the sweep either wins outright or finds the proposal expired, and
    two sweeps never expire the same row twice. Returns the ids expired.
    """
    now = now or timezone.now()
    claimed = list(
        # of=self: lock the proposal rows only, not the employees joined for the leave check.
        Proposal.objects.select_for_update(skip_locked=True, of=("self",))
        # Nobody's silence is read while they are on leave: their window is paused.
        .filter(state=State.PENDING, response_deadline__lt=now, employee__on_leave_since=None)
        .order_by("response_deadline", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not claimed:
        return []
    rows = list(
        Proposal.objects.filter(pk__in=claimed, state=State.PENDING).values(
            "pk",
            "employee__user_id",
            "terms_sha256",
            "terms_version",
            "placement_request_id",
            # For the notifications below, so they need no query per row.
            "employee__name",
            "proposed_by_id",
            "to_team__name",
            "start_date",
            "response_deadline",
        )
    )
    ids = [r["pk"] for r in rows]
    Proposal.objects.filter(pk__in=ids, state=State.PENDING).update(
        state=State.EXPIRED, decided_at=now
    )
    append_system_records(
        [
            {
                "subject_id": r["employee__user_id"],
                "about_kind": PROPOSAL,
                "about_id": r["pk"],
                "terms_sha256": r["terms_sha256"],
                "terms_version": r["terms_version"],
            }
            for r in rows
        ],
        action=Action.EXPIRE,
    )
    ProposalEvent.objects.bulk_create(
        [ProposalEvent(proposal_id=pk, kind=ProposalEvent.Kind.EXPIRED, at=now) for pk in ids],
        batch_size=2000,
    )
    PlacementRequest.objects.filter(
        pk__in=[r["placement_request_id"] for r in rows if r["placement_request_id"]],
        state=PlacementRequest.State.OFFERED,
    ).update(state=PlacementRequest.State.OPEN)
    # Same transaction: the people concerned are told exactly when the expiry commits.
    emails.proposals_expired(rows, now=now)
    return ids


@transaction.atomic
def apply_move(*, proposal: Proposal, now: datetime | None = None) -> Move | None:
    """Move the employee on the start date, if and only if their opt-in is still live.

    Returns the Move, or None when there is nothing (any longer) to apply.
    """
    now = now or timezone.now()
    proposal = _lock(proposal)
    if proposal.state != State.OPTED_IN or proposal.start_date > timezone.localdate(now):
        return None
    latest = (
        ConsentRecord.objects.filter(about_kind=PROPOSAL, about_id=str(proposal.pk))
        .order_by("-id")
        .first()
    )
    if latest is None or latest.action != Action.OPT_IN:
        return None
    employee = Employee.objects.select_for_update().get(pk=proposal.employee_id)
    if not employee.is_active:
        return None
    move = Move.objects.create(
        proposal=proposal,
        employee=employee,
        from_team_id=employee.team_id,
        to_team_id=proposal.to_team_id,
        opt_in_record=latest,
        effective_date=proposal.start_date,
        applied_at=now,
    )
    employee.team_id = proposal.to_team_id
    employee.save(update_fields=["team"])
    proposal.state = State.EFFECTIVE
    proposal.save(update_fields=["state"])
    _event(proposal, ProposalEvent.Kind.MOVED, at=now, move_id=move.pk)
    if proposal.placement_request_id:
        PlacementRequest.objects.filter(pk=proposal.placement_request_id).update(
            state=PlacementRequest.State.FILLED
        )
    # Other systems act on this (notifications now, webhooks later), so it goes through the
    # outbox: written in this transaction, it cannot be lost between commit and enqueue, and
    # a rollback leaves nothing to send.
    record_event(
        topic="move.effective",
        key=f"move.effective:{move.pk}",
        payload={
            "move_id": move.pk,
            "proposal_id": proposal.pk,
            "employee_id": employee.pk,
            "from_team_id": move.from_team_id,
            "to_team_id": move.to_team_id,
            "effective_date": move.effective_date.isoformat(),
            "applied_at": now.isoformat(),
        },
    )
    return move


def apply_due_moves(*, now: datetime | None = None) -> list[Move]:
    """Apply every accepted move whose start date has come; each in its own transaction."""
    now = now or timezone.now()
    due = Proposal.objects.filter(
        state=State.OPTED_IN, start_date__lte=timezone.localdate(now), employee__is_active=True
    ).values_list("pk", flat=True)
    moves = []
    for pk in list(due):
        move = apply_move(proposal=Proposal(pk=pk), now=now)
        if move is not None:
            moves.append(move)
    return moves


# --- Leave: response windows pause while the person is away ---------------------------------


def _working_days_between(start: date, end: date) -> int:
    """Working days (Mon-Fri) from `start` up to, not including, `end`."""
    days = 0
    day = start
    while day < end:
        if day.weekday() < 5:
            days += 1
        day += timedelta(days=1)
    return days


@transaction.atomic
def start_leave(*, employee: Employee, actor, now: datetime | None = None) -> Employee:
    """Mark someone on leave (HR, or the HRIS later). Their open windows pause from now.

    While on leave the sweep neither expires nor reminds; the person may still decide.
    """
    now = now or timezone.now()
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    if employee.on_leave_since is not None:
        return employee
    employee.on_leave_since = now
    employee.save(update_fields=["on_leave_since"])
    return employee


@transaction.atomic
def end_leave(*, employee: Employee, actor, now: datetime | None = None) -> list[Proposal]:
    """Mark someone back; extend each pending deadline by the working days they were away.

    The extension is recorded as an EXTENDED event (reason "leave") on each proposal, so the
    person gets back exactly the window they had left when the leave began, and a deadline
    that fell during the leave has not been read as silence. Returns the proposals extended.
    """
    now = now or timezone.now()
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    if employee.on_leave_since is None:
        return []
    since = employee.on_leave_since
    away = _working_days_between(timezone.localdate(since), timezone.localdate(now))
    employee.on_leave_since = None
    employee.save(update_fields=["on_leave_since"])
    if away == 0:
        return []
    proposals = list(
        Proposal.objects.select_for_update()
        .filter(employee=employee, state=State.PENDING)
        .order_by("pk")
    )
    for proposal in proposals:
        previous = proposal.response_deadline
        proposal.response_deadline = add_working_days(previous, away)
        proposal.save(update_fields=["response_deadline"])
        event = _event(
            proposal,
            ProposalEvent.Kind.EXTENDED,
            actor=actor,
            at=now,
            previous=previous.isoformat(),
            new=proposal.response_deadline.isoformat(),
            reason="leave",
            working_days=away,
            leave_started=since.isoformat(),
        )
        enqueue_after_commit(tasks.notify_deadline_extended, proposal.pk, event.pk)
    return proposals
