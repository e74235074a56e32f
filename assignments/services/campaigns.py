"""Campaigns: HR prepares a drive, chooses who it goes to, previews the exact words, sends it
once; and imports people moved before the portal existed.

The life of a campaign is draft -> queued -> sent. A draft can be edited and its audience
chosen again; `queue_campaign` hands a large send to the background; `send_campaign` creates
every proposal in one transaction (`propose_campaign`: all or nothing, per-person errors).
A campaign is sent once: the send claims it with a conditional UPDATE, so a double click, a
second worker or a redelivered task finds nothing left to do. A campaign without a named
accountable owner and a reference to its impact assessment or works-council consultation
cannot leave the draft state (checked here, and a database constraint).

CSV imports (an audience by employee id, retroactive confirmations) are all or nothing too:
one bad row rejects the file with a `RowError` for every bad row, and nothing is created.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from assignments import terms
from assignments.deadlines import add_working_days, horizon_errors, new_window_errors
from assignments.models import Campaign, Proposal
from assignments.services import proposing
from assignments.services.proposing import propose_campaign, propose_retroactive_confirmation
from consent import terms as documents
from consent.models import TermsDocument
from people.models import Employee, Team
from people.selectors import display_name
from portal.errors import TransitionError

State = Campaign.State
# Errors kept on the campaign after a refused background send (the page lists them).
MAX_STORED_ERRORS = 200

EDITABLE_FIELDS = (
    "name",
    "description",
    "data_labelling_percent",
    "role_description",
    "start_date",
    "response_working_days",
    "terms_version",
    "accountable_owner",
    "assessment_kind",
    "assessment_reference",
)


@dataclass(frozen=True)
class RowError:
    """One bad row of an uploaded file: its number in the file (the header is row 1), the
    value it held and why it was refused."""

    row: int
    value: str
    reason: str


class RowsRejected(Exception):
    """A file with bad rows was refused as a whole: nothing was created."""

    def __init__(self, errors: list[RowError]):
        self.errors = sorted(errors, key=lambda e: e.row)
        super().__init__(f"{len(self.errors)} row(s) rejected")


# --- Drafts -------------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "campaign"
    slug, n = base, 1
    while Campaign.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _check_fields(fields: dict) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not campaign fields: {sorted(unknown)}")
    percent = fields.get("data_labelling_percent")
    if percent is not None and not 0 <= percent <= 100:
        raise ValidationError(
            {"data_labelling_percent": _("The data-labelling share is a percentage, 0 to 100.")}
        )
    minimum = settings.PORTAL_MIN_RESPONSE_WORKING_DAYS
    days = fields.get("response_working_days")
    if days is not None and days < minimum:
        raise ValidationError(
            {
                "response_working_days": _("People need at least %(days)s working days to decide.")
                % {"days": minimum}
            }
        )
    # Working days within the horizon (five in every seven calendar days).
    longest = settings.PORTAL_MAX_HORIZON_DAYS * 5 // 7
    if days is not None and days > longest:
        raise ValidationError(
            {
                "response_working_days": _(
                    "A response window of more than %(days)s working days is beyond the "
                    "horizon for deadlines; choose a shorter one."
                )
                % {"days": longest}
            }
        )
    if fields.get("start_date") is not None:
        too_far = horizon_errors(start_date=fields["start_date"])
        if too_far:
            raise ValidationError(too_far)


@transaction.atomic
def create_campaign(*, actor, target_teams, now: datetime | None = None, **fields) -> Campaign:
    """A new draft. Nothing is sent until HR chooses an audience and sends it."""
    _check_fields(fields)
    campaign = Campaign.objects.create(
        slug=_unique_slug(fields["name"]),
        created_by=actor,
        created_at=now or timezone.now(),
        state=State.DRAFT,
        **fields,
    )
    campaign.target_teams.set(target_teams)
    return campaign


def _lock_draft(campaign: Campaign) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != State.DRAFT:
        raise TransitionError(
            _("This campaign was already sent; its words and its audience can no longer change.")
        )
    return campaign


@transaction.atomic
def update_campaign(*, campaign: Campaign, actor, target_teams, **fields) -> Campaign:
    """Edit a draft. A chosen audience stays only if every destination is still a target."""
    campaign = _lock_draft(campaign)
    _check_fields(fields)
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.save()
    campaign.target_teams.set(target_teams)
    targets = {t.pk for t in target_teams}
    if campaign.audience and any(team_id not in targets for _e, team_id in campaign.audience):
        campaign.audience, campaign.audience_label = None, ""
        campaign.save(update_fields=["audience", "audience_label"])
    return campaign


# --- The audience -------------------------------------------------------------------------


def _open_proposal_pairs(pairs) -> set[tuple[int, int]]:
    """(employee id, team id) pairs that already have an open proposal to that team."""
    employee_ids = {e for e, _t in pairs}
    team_ids = {t for _e, t in pairs}
    return set(
        Proposal.objects.filter(
            employee_id__in=employee_ids, to_team_id__in=team_ids, state__in=Proposal.OPEN_STATES
        ).values_list("employee_id", "to_team_id")
    )


def why_ineligible(employee: Employee, to_team: Team, open_pairs) -> str | None:
    """Why this person cannot be sent this campaign's proposal, or None."""
    if not employee.is_active:
        return _("%(name)s is no longer active.") % {"name": employee.name}
    if employee.team_id == to_team.pk:
        return _("%(name)s is already in %(team)s.") % {"name": employee.name, "team": to_team.name}
    if (employee.pk, to_team.pk) in open_pairs:
        return _("%(name)s already has an open proposal to %(team)s.") % {
            "name": employee.name,
            "team": to_team.name,
        }
    return None


@transaction.atomic
def choose_audience(*, campaign: Campaign, employees, to_team: Team, label: str, actor) -> dict:
    """Freeze who a draft goes to: these people (a team's members, a manager's reports),
    skipping anyone who cannot receive it (already in the team, an open proposal to it, no
    longer active). Returns {"chosen": n, "skipped": [reasons]}."""
    campaign = _lock_draft(campaign)
    if to_team is None or not campaign.target_teams.filter(pk=to_team.pk).exists():
        raise ValidationError({"to_team": _("Choose one of this campaign's target teams.")})
    people = list(employees)
    open_pairs = _open_proposal_pairs([(e.pk, to_team.pk) for e in people])
    chosen, skipped = [], []
    for employee in people:
        reason = why_ineligible(employee, to_team, open_pairs)
        if reason:
            skipped.append(reason)
        else:
            chosen.append([employee.pk, to_team.pk])
    if not chosen:
        raise ValidationError(_("Nobody in this selection can receive the campaign."))
    campaign.audience, campaign.audience_label, campaign.send_errors = chosen, label, None
    campaign.save(update_fields=["audience", "audience_label", "send_errors"])
    return {"chosen": len(chosen), "skipped": skipped}


def _team_lookup(teams) -> dict[str, Team]:
    """A team named in a file by its slug, its HRIS id or its name (case-insensitive)."""
    lookup = {}
    for team in teams:
        for key in (team.slug, team.external_id, team.name):
            if key:
                lookup[key.strip().lower()] = team
    return lookup


@transaction.atomic
def choose_audience_from_csv(
    *, campaign: Campaign, rows, default_team: Team | None, label: str, actor
) -> dict:
    """Freeze the audience from a file of employee ids, all or nothing.

    `rows` are (row number, employee external id, destination team or "") as read from the
    file. Any bad row (unknown, inactive or repeated id, a team that is not a target, someone
    already in the team or already asked) rejects the whole file with one RowError per bad
    row, and the draft keeps its previous audience.
    """
    campaign = _lock_draft(campaign)
    rows = list(rows)
    targets = _team_lookup(campaign.target_teams.all())
    ids = [external_id.strip() for _n, external_id, _t in rows if external_id.strip()]
    people = {
        e.external_id: e
        for e in Employee.objects.filter(external_id__in=ids).select_related("team")
    }
    errors, resolved, first_seen = [], [], {}
    for number, raw_id, raw_team in rows:
        external_id = raw_id.strip()
        if not external_id:
            errors.append(RowError(number, raw_id, _("No employee id on this row.")))
            continue
        if external_id in first_seen:
            errors.append(
                RowError(
                    number,
                    external_id,
                    _("Listed twice: already on row %(row)s.") % {"row": first_seen[external_id]},
                )
            )
            continue
        first_seen[external_id] = number
        employee = people.get(external_id)
        if employee is None:
            errors.append(RowError(number, external_id, _("No employee has this id.")))
            continue
        if raw_team.strip():
            to_team = targets.get(raw_team.strip().lower())
            if to_team is None:
                errors.append(
                    RowError(
                        number,
                        f"{external_id}, {raw_team.strip()}",
                        _("%(team)s is not one of this campaign's target teams.")
                        % {"team": raw_team.strip()},
                    )
                )
                continue
        elif default_team is not None:
            to_team = default_team
        else:
            errors.append(
                RowError(
                    number,
                    external_id,
                    _("Name the team they would join: this campaign has several target teams."),
                )
            )
            continue
        resolved.append((number, employee, to_team))
    open_pairs = _open_proposal_pairs([(e.pk, t.pk) for _n, e, t in resolved])
    for number, employee, to_team in resolved:
        reason = why_ineligible(employee, to_team, open_pairs)
        if reason:
            errors.append(RowError(number, employee.external_id, reason))
    if not rows:
        errors.append(RowError(1, "", _("The file has no rows.")))
    if errors:
        raise RowsRejected(errors)
    campaign.audience = [[e.pk, t.pk] for _n, e, t in resolved]
    campaign.audience_label, campaign.send_errors = label, None
    campaign.save(update_fields=["audience", "audience_label", "send_errors"])
    return {"chosen": len(resolved), "skipped": []}


# --- What a person will read --------------------------------------------------------------


def proposal_for(campaign: Campaign, *, employee: Employee, to_team: Team, proposer) -> Proposal:
    """The (unsaved) proposal `employee` will receive: the one place its fields are set, so
    the preview and the send cannot drift apart."""
    return Proposal(
        employee=employee,
        subject_user_id=employee.user_id,
        from_team=employee.team,
        to_team=to_team,
        proposed_by=proposer,
        campaign=campaign,
        kind=Proposal.Kind.TRANSFER,
        role_description=campaign.role_description.strip(),
        data_labelling_percent=campaign.data_labelling_percent,
        start_date=campaign.start_date,
        terms_version=campaign.terms_version,
        # The structured facts as `propose_campaign` fills them when none are given (the
        # proposer is the contact for questions), so the preview hashes to the same words.
        **proposing._facts({}, actor=proposer),
    )


def preview_document(
    campaign: Campaign, *, employee: Employee, to_team: Team, proposer
) -> TermsDocument:
    """The terms document `employee` will be shown, exactly (unsaved; its sha256 is the one
    their proposal will carry when `proposer` sends the campaign)."""
    proposal = proposal_for(campaign, employee=employee, to_team=to_team, proposer=proposer)
    facts = terms.facts_of(proposal, proposer_name=display_name(proposer))
    language = terms.language_for(employee)
    return documents.document_for(terms.render(facts, language), language=language)


def response_deadline_for(campaign: Campaign, now: datetime) -> datetime:
    return add_working_days(now, campaign.response_working_days)


# --- Sending ------------------------------------------------------------------------------


def readiness_errors(campaign: Campaign) -> list[str]:
    """What stops this campaign from being sent, in words (empty when it can go)."""
    problems = []
    if not campaign.accountable_owner.strip():
        problems.append(_("Name the person accountable for this campaign."))
    if not campaign.assessment_reference.strip():
        problems.append(
            _("Give the reference of its impact assessment or works-council consultation.")
        )
    problems += proposing.role_description_errors(campaign.role_description).values()
    if campaign.start_date is None:
        problems.append(_("Set the start date."))
    if not campaign.audience:
        problems.append(_("Choose who it goes to."))
    return problems


@transaction.atomic
def queue_campaign(*, campaign: Campaign, actor, now: datetime | None = None) -> bool:
    """Hand the send to the background (thousands of proposals and notices). Returns True if
    this call queued it, False if it was already queued or sent. The caller enqueues the task
    (`assignments.tasks.send_campaign`) on commit; the task is idempotent."""
    problems = readiness_errors(Campaign.objects.get(pk=campaign.pk))
    if problems:
        raise ValidationError(problems)
    return bool(
        Campaign.objects.filter(pk=campaign.pk, state=State.DRAFT).update(
            state=State.QUEUED, sent_by=actor, queued_at=now or timezone.now(), send_errors=None
        )
    )


def send_campaign(*, campaign: Campaign, actor, now: datetime | None = None):
    """Send a campaign: every person in its audience gets their own proposal, all at once.

    1. Check it can go: owner, assessment, role, start date, audience.
    2. Claim it: a conditional UPDATE from draft or queued to sent. Zero rows means another
       send has it (or had it): return None, having done nothing. Then check the window.
    3. Create the proposals per destination team (`propose_campaign`), each person's terms
       rendered and hashed in their language, their notices written in this transaction.
    4. Any problem, for anyone, rolls back everything (the claim included); the reasons are
       kept on the campaign for the page and a ValidationError is raised.
    """
    now = now or timezone.now()
    try:
        return _send(campaign, actor, now)
    except ValidationError as exc:
        messages = exc.messages
        extra = len(messages) - MAX_STORED_ERRORS
        stored = messages[:MAX_STORED_ERRORS]
        if extra > 0:
            stored.append(_("…and %(count)s more.") % {"count": extra})
        Campaign.objects.filter(pk=campaign.pk, state__in=[State.DRAFT, State.QUEUED]).update(
            state=State.DRAFT, send_errors=stored
        )
        raise


@transaction.atomic
def _send(campaign: Campaign, actor, now: datetime) -> list[Proposal] | None:
    current = Campaign.objects.get(pk=campaign.pk)
    if current.state == State.SENT:
        return None
    problems = readiness_errors(current)
    if problems:
        raise ValidationError(problems)
    # The claim. Its row lock is held until this transaction ends: a concurrent send waits
    # here, then finds the state no longer draft or queued and updates nothing.
    claimed = Campaign.objects.filter(pk=campaign.pk, state__in=[State.DRAFT, State.QUEUED]).update(
        state=State.SENT, sent_at=now, sent_by=actor, send_errors=None
    )
    if not claimed:
        return None
    campaign = Campaign.objects.get(pk=campaign.pk)
    deadline = response_deadline_for(campaign, now)
    window = new_window_errors(
        response_deadline=deadline, start_date=campaign.start_date, now=now, retroactive=False
    )
    if window:
        raise ValidationError(list(window.values()))
    by_team = defaultdict(list)
    for employee_id, team_id in campaign.audience:
        by_team[team_id].append(employee_id)
    teams = Team.objects.in_bulk(list(by_team))
    people = Employee.objects.in_bulk([pk for ids in by_team.values() for pk in ids])
    missing = sum(1 for ids in by_team.values() for pk in ids if pk not in people)
    if missing or len(teams) != len(by_team):
        raise ValidationError(
            _("Some people or teams in the audience no longer exist; choose the audience again.")
        )
    proposals, problems = [], []
    for team_id, employee_ids in sorted(by_team.items()):
        try:
            proposals += propose_campaign(
                campaign=campaign,
                employees=[people[pk] for pk in employee_ids],
                to_team=teams[team_id],
                actor=actor,
                role_description=campaign.role_description,
                start_date=campaign.start_date,
                response_deadline=deadline,
                now=now,
            )
        except ValidationError as exc:  # its savepoint is rolled back; collect every reason
            problems += exc.messages
    if problems:
        raise ValidationError(problems)
    return proposals


# --- Retroactive confirmations --------------------------------------------------------------


@dataclass(frozen=True)
class RetroactiveRow:
    row: int
    external_id: str
    previous_team: str
    moved_on: str


def import_retroactive_confirmations(
    *,
    rows,
    actor,
    role_description: str,
    data_labelling_percent: int,
    response_deadline: datetime,
    campaign: Campaign | None = None,
    now: datetime | None = None,
) -> list[Proposal]:
    """Ask everyone in the file, moved before the portal existed, to confirm or undraft.

    All or nothing: every row is checked (the employee id, the previous team, the date of the
    move, and everything `propose_retroactive_confirmation` refuses); one bad row rejects the
    file with a RowError for each bad row, and nothing is created.
    """
    now = now or timezone.now()
    # What applies to every row is checked once, not reported on each of them.
    description_errors = proposing.role_description_errors(role_description)
    if description_errors:
        raise ValidationError(description_errors)
    window = new_window_errors(
        response_deadline=response_deadline,
        start_date=timezone.localdate(now),
        now=now,
        retroactive=True,
    )
    if window:
        raise ValidationError(window)
    rows = list(rows)
    teams = _team_lookup(Team.objects.all())
    ids = [r.external_id.strip() for r in rows if r.external_id.strip()]
    people = {
        e.external_id: e
        for e in Employee.objects.filter(external_id__in=ids).select_related("team")
    }
    errors, proposals, first_seen = [], [], {}
    if not rows:
        raise RowsRejected([RowError(1, "", _("The file has no rows."))])
    with transaction.atomic():
        for r in rows:
            external_id = r.external_id.strip()
            if not external_id:
                errors.append(RowError(r.row, r.external_id, _("No employee id on this row.")))
                continue
            if external_id in first_seen:
                errors.append(
                    RowError(
                        r.row,
                        external_id,
                        _("Listed twice: already on row %(row)s.")
                        % {"row": first_seen[external_id]},
                    )
                )
                continue
            first_seen[external_id] = r.row
            employee = people.get(external_id)
            if employee is None:
                errors.append(RowError(r.row, external_id, _("No employee has this id.")))
                continue
            previous = None
            if r.previous_team.strip():
                previous = teams.get(r.previous_team.strip().lower())
                if previous is None:
                    errors.append(
                        RowError(r.row, r.previous_team, _("No team has this name or id."))
                    )
                    continue
            try:
                moved_on = date.fromisoformat(r.moved_on.strip())
            except ValueError:
                errors.append(
                    RowError(r.row, r.moved_on, _("Write the date of the move as YYYY-MM-DD."))
                )
                continue
            if moved_on > timezone.localdate(now):
                errors.append(
                    RowError(r.row, r.moved_on, _("The date of the move is in the future."))
                )
                continue
            try:
                proposals.append(
                    propose_retroactive_confirmation(
                        employee=employee,
                        previous_team=previous,
                        actor=actor,
                        role_description=role_description,
                        moved_on=moved_on,
                        response_deadline=response_deadline,
                        data_labelling_percent=data_labelling_percent,
                        campaign=campaign,
                        now=now,
                    )
                )
            except ValidationError as exc:  # that row's savepoint is rolled back
                errors.append(RowError(r.row, external_id, " ".join(exc.messages)))
        if errors:
            # Raised inside the atomic block: every confirmation created above is undone.
            raise RowsRejected(errors)
    return proposals
