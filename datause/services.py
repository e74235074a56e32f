"""Publishing purposes, and a person's own opt-in and opt-out: the only writers of data-use
decisions to the ledger."""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import ConsentRecord
from consent.services import RequestContext, append_record
from datause import checkcache, emails, terms
from datause.check import DATA_USE, add_months, answer
from datause.models import Category, DataUsePurpose
from datause.selectors import current_purposes, newest_version_of
from outbox.services import record_event, record_events
from people.models import Employee
from portal.errors import TransitionError
from webhooks.services import about, routed_to

Action = ConsentRecord.Action
COPIED = (
    "slug", "title", "categories", "why", "retention", "access", "collecting_system",
    "validity_months", "owner_id", "approver_kind", "approved_on", "approval_reference",
)  # fmt: skip


def _missing_for_publication(purpose: DataUsePurpose) -> list[str]:
    missing = []
    if not purpose.owner_id:
        missing.append(_("a named accountable owner"))
    if not (purpose.approver_kind and purpose.approved_on and purpose.approval_reference):
        missing.append(
            _(
                "a recorded approval (data-protection officer or works council, with the date "
                "and a reference)"
            )
        )
    if not purpose.categories:
        missing.append(_("what is collected"))
    return missing


@transaction.atomic
def publish_purpose(*, purpose: DataUsePurpose, actor) -> DataUsePurpose:
    """Publish one purpose version, so people can opt in (and collectors can ask).

    1. Lock the row; publishing twice changes nothing.
    2. Refuse without a named owner and a recorded approval (the constraint is the backstop).
    3. Refuse an older version than one already published.
    4. Render and store its words, pin their sha256, stamp `published_at`.
    From then on this is the newest version: opt-ins to earlier versions no longer count.
    """
    purpose = DataUsePurpose.objects.select_for_update().get(pk=purpose.pk)
    if purpose.is_published:
        return purpose
    missing = _missing_for_publication(purpose)
    if missing:
        raise ValidationError(
            _("A purpose is published only with %(missing)s.") % {"missing": "; ".join(missing)}
        )
    newest = newest_version_of(purpose.slug)
    if newest is not None and newest.version >= purpose.version:
        raise TransitionError(
            _("Version %(newest)s of this purpose is already published; publish a newer one.")
            % {"newest": newest.version}
        )
    terms.issue(purpose)
    purpose.published_at = timezone.now()
    purpose.save(update_fields=["terms_sha256", "published_at"])
    # Collectors' checks stop counting earlier versions' opt-ins before this commits.
    checkcache.invalidate_purpose(purpose.slug)
    _ask_again_about(purpose)
    return purpose


@transaction.atomic
def draft_next_version(*, purpose: DataUsePurpose, **changes) -> DataUsePurpose:
    """A new, unpublished version of a purpose: what changed, and everything else as it was
    (its webhook endpoints too)."""
    latest = DataUsePurpose.objects.filter(slug=purpose.slug).order_by("-version").first()
    fields = {name: getattr(purpose, name) for name in COPIED}
    draft = DataUsePurpose.objects.create(
        **{**fields, **changes}, version=latest.version + 1, terms_sha256=""
    )
    draft.webhook_endpoints.set(purpose.webhook_endpoints.all())
    return draft


def _person(actor, employee) -> Employee:
    """The deciding person, locked: decisions of one person are taken one at a time. Anyone
    but the person themself (a manager, HR, an API key) is refused."""
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.pk is None:
        raise PermissionDenied(_("Only the person themself can decide about their data."))
    if employee is not None and employee.user_id != actor.pk:
        raise PermissionDenied(_("Only the person themself can decide about their data."))
    person = Employee.objects.select_for_update().filter(user_id=actor.pk).first()
    if person is None:
        raise PermissionDenied(_("Only the person themself can decide about their data."))
    return person


def _decide(*, purpose, actor, terms_sha256, context, employee, want_allowed: bool):
    person = _person(actor, employee)
    purpose = DataUsePurpose.objects.select_related("owner").get(pk=purpose.pk)
    newest = newest_version_of(purpose.slug)
    if not purpose.is_published or newest is None:
        raise TransitionError(_("This purpose is not published."))
    if newest.pk != purpose.pk:
        raise TransitionError(
            _("This purpose has a newer version (%(version)s): please read it and decide on it.")
            % {"version": newest.version}
        )
    if not terms.is_shown_terms(purpose, terms_sha256):
        raise ValidationError(_("These are not the words of this purpose; reload the page."))
    now = timezone.now()
    latest = (
        ConsentRecord.objects.filter(
            subject_id=actor.pk, about_kind=DATA_USE, about_id=purpose.about_id
        )
        .order_by("-id")
        .first()
    )
    allowed_now = answer(purpose, latest, now)["allowed"]
    # A repeat changes nothing: the same answer already stands (a lapsed opt-in does not
    # stand, so opting in again renews it; so does one whose lapse reminder is due).
    if want_allowed and allowed_now and not _renewable(purpose, latest, now):
        return latest
    if not want_allowed and latest is not None and latest.action != Action.OPT_IN:
        return latest
    # Saying no to a live opt-in is a withdrawal; otherwise a plain opt-out.
    no = Action.WITHDRAW if allowed_now else Action.OPT_OUT
    action = Action.OPT_IN if want_allowed else no
    record = append_record(
        subject=actor,
        about_kind=DATA_USE,
        about_id=purpose.about_id,
        action=action,
        terms_sha256=terms_sha256,
        terms_version=str(purpose.version),
        actor=actor,
        context=context,
        recorded_at=now,
    )
    # No web process may answer from before this decision once it commits (api.coherence).
    checkcache.invalidate_person(actor.pk)
    state = answer(purpose, record, now)
    # Collectors act on this (stop, delete), so it is an outbox row in this transaction.
    record_event(
        topic="consent.changed",
        key=f"consent.changed:{record.pk}",
        payload={
            "purpose": purpose.slug,
            "purpose_version": purpose.version,
            "collecting_system": purpose.collecting_system,
            "employee": person.external_id,
            "allowed": state["allowed"],
            "record_id": record.pk,
            "decided_at": record.recorded_at.isoformat(),
            "valid_until": state["valid_until"].isoformat() if state["valid_until"] else None,
            **_route(purpose),
            **about(person.user_id),  # each collector told is in the person's access log
        },
    )
    emails.data_use_receipt(record, purpose, person)
    return record


@transaction.atomic
def opt_in(
    *, purpose: DataUsePurpose, actor, terms_sha256: str, context: RequestContext, employee=None
) -> ConsentRecord:
    """The person's own opt-in to the newest version of a purpose, on the words they read."""
    return _decide(
        purpose=purpose,
        actor=actor,
        terms_sha256=terms_sha256,
        context=context,
        employee=employee,
        want_allowed=True,
    )


@transaction.atomic
def opt_out(
    *, purpose: DataUsePurpose, actor, terms_sha256: str, context: RequestContext, employee=None
) -> ConsentRecord:
    """The person's own no: an opt-out, or the withdrawal of a live opt-in (one action)."""
    return _decide(
        purpose=purpose,
        actor=actor,
        terms_sha256=terms_sha256,
        context=context,
        employee=employee,
        want_allowed=False,
    )


# --- HR's authoring of purposes (the pages under /hr/purposes/) -----------------------------

EDITABLE = (
    "title", "categories", "why", "retention", "access", "collecting_system",
    "validity_months", "owner", "approver_kind", "approved_on", "approval_reference",
)  # fmt: skip
MAX_VALIDITY_MONTHS = 36


def _check_purpose(purpose: DataUsePurpose, endpoints) -> None:
    """Every error at once, on the field it is about; nothing is saved while one remains."""
    errors: dict[str, list[str]] = {}
    try:
        purpose.full_clean(exclude=["terms_sha256", "published_at", "created_at"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    unknown = [c for c in purpose.categories or [] if c not in Category.values]
    if not purpose.categories:
        errors.setdefault("categories", []).append(_("Choose at least one kind of data."))
    elif unknown:
        errors.setdefault("categories", []).append(
            _("Unknown kind(s) of data: %(codes)s.") % {"codes": ", ".join(map(str, unknown))}
        )
    if not 1 <= (purpose.validity_months or 0) <= MAX_VALIDITY_MONTHS:
        errors.setdefault("validity_months", []).append(
            _("Consent lasts between 1 and %(most)s months.") % {"most": MAX_VALIDITY_MONTHS}
        )
    if purpose.approved_on and purpose.approved_on > timezone.localdate():
        errors.setdefault("approved_on", []).append(_("An approval cannot be dated in the future."))
    if purpose.owner_id and not purpose.owner.is_active:
        errors.setdefault("owner", []).append(
            _("The accountable owner must be someone still working here.")
        )
    unfit = [e.url for e in endpoints if not e.is_active or "consent.changed" not in e.events]
    if unfit:
        errors.setdefault("webhook_endpoints", []).append(
            _("These endpoints are switched off or do not take consent.changed: %(urls)s.")
            % {"urls": ", ".join(unfit)}
        )
    if errors:
        raise ValidationError(errors)


def missing_for_publication(purpose: DataUsePurpose) -> list[str]:
    """What a draft still needs before it can be published (the HR page lists it)."""
    return _missing_for_publication(purpose)


RESERVED_SLUGS = {"new"}  # /hr/purposes/new/ is the form


@transaction.atomic
def create_purpose(*, actor, slug: str, webhook_endpoints=(), **fields) -> DataUsePurpose:
    """Version 1 of a new purpose, as a draft: nobody is asked anything until it is published."""
    if slug in RESERVED_SLUGS:
        raise ValidationError({"slug": _("This short name is reserved; choose another.")})
    if DataUsePurpose.objects.filter(slug=slug).exists():
        raise ValidationError(
            {"slug": _("A purpose with this short name exists; draft its next version instead.")}
        )
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not a purpose's field: {', '.join(sorted(unknown))}")
    purpose = DataUsePurpose(slug=slug, version=1, **fields)
    endpoints = list(webhook_endpoints)
    _check_purpose(purpose, endpoints)
    purpose.save()
    purpose.webhook_endpoints.set(endpoints)
    return purpose


@transaction.atomic
def update_purpose_draft(
    *, purpose: DataUsePurpose, actor, webhook_endpoints=None, **fields
) -> DataUsePurpose:
    """Change a draft. A published version never changes: what people agreed to stays put."""
    purpose = DataUsePurpose.objects.select_for_update().get(pk=purpose.pk)
    if purpose.is_published:
        raise TransitionError(
            _("Version %(version)s is published and can no longer change; draft the next "
              "version instead.") % {"version": purpose.version}
        )  # fmt: skip
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not a purpose's field: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(purpose, name, value)
    if webhook_endpoints is None:
        webhook_endpoints = purpose.webhook_endpoints.all()
    endpoints = list(webhook_endpoints)
    _check_purpose(purpose, endpoints)
    purpose.save()
    purpose.webhook_endpoints.set(endpoints)
    return purpose


@transaction.atomic
def start_next_version(*, purpose: DataUsePurpose, actor) -> DataUsePurpose:
    """The draft of the next version, copied from the newest one; an open draft is returned
    as it is (a double click makes one draft, not two)."""
    newest = (
        DataUsePurpose.objects.select_for_update().filter(slug=purpose.slug).order_by("-version")
    ).first()
    if not newest.is_published:
        return newest
    return draft_next_version(purpose=newest)


def _route(purpose: DataUsePurpose) -> dict:
    """consent.changed goes to the purpose's collecting system only (webhooks.services)."""
    return routed_to(purpose.webhook_endpoints.values_list("pk", flat=True))


def _ask_again_about(purpose: DataUsePurpose) -> None:
    """A new version was published: everyone still here who decided about an earlier one is
    told that answer no longer counts, and asked again. Two statements, however many people
    (their dedupe keys are new: a version is published once, under its row lock)."""
    if purpose.version == 1:
        return
    earlier = [f"{purpose.slug}:v{n}" for n in range(1, purpose.version)]
    deciders = ConsentRecord.objects.filter(about_kind=DATA_USE, about_id__in=earlier)
    people = Employee.objects.filter(
        is_active=True, user_id__in=Subquery(deciders.values("subject_id"))
    ).values_list("user_id", "name")
    emails.asked_again(purpose, list(people))
    _tell_collectors_earlier_opt_ins_stopped(purpose)


def _no_longer_allowed(purpose, route: dict, key: str, employee, user_id, **state) -> tuple:
    """A consent.changed event for a change nobody decided (a new version, a lapse): the
    collecting system must stop, as after a withdrawal."""
    return (
        "consent.changed",
        f"consent.changed:{key}",
        {
            "purpose": purpose.slug,
            "purpose_version": purpose.version,
            "collecting_system": purpose.collecting_system,
            "employee": employee,
            "allowed": False,
            "record_id": None,
            "decided_at": None,
            "valid_until": None,
            **state,  # "cause": "new_version" or "lapsed", and the lapsed opt-in's own facts
            **route,
            **about(user_id),
        },
    )


def _tell_collectors_earlier_opt_ins_stopped(purpose: DataUsePurpose) -> None:
    """Everyone whose opt-in to the version this one replaces was still live is, from now on,
    not allowed: their collecting system hears it (four statements, however many people)."""
    previous = (
        DataUsePurpose.objects.filter(
            slug=purpose.slug, published_at__isnull=False, version__lt=purpose.version
        )
        .order_by("-version")
        .first()
    )
    if previous is None:
        return
    now = timezone.now()
    newest = (
        ConsentRecord.objects.filter(about_kind=DATA_USE, about_id=previous.about_id)
        .values("subject_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    live = [
        (record_id, external_id, user_id)
        for record_id, external_id, user_id, recorded_at in ConsentRecord.objects.filter(
            id__in=Subquery(newest), action=Action.OPT_IN
        ).values_list("id", "subject__employee__external_id", "subject_id", "recorded_at")
        if add_months(recorded_at, previous.validity_months) > now
    ]
    if not live:
        return
    route = _route(purpose)
    record_events(
        [
            _no_longer_allowed(
                purpose, route, f"new_version:{purpose.pk}:{record_id}", external_id, user_id,
                cause="new_version",
            )
            for record_id, external_id, user_id in live
        ],
        keys_are_new=True,  # a version is published once, under its row lock
    )  # fmt: skip


# --- lapse: a reminder before, and nothing allowed after ------------------------------------

LAPSE_REMINDER_DAYS = 30
_SLACK = timedelta(days=4)  # month arithmetic at month ends; the exact test follows in Python


def renewal_opens_at(recorded_at: datetime, valid_until: datetime) -> datetime:
    """When an opt-in can be renewed, and its reminder goes out: 30 days before it lapses, or
    half-way through a period shorter than two months."""
    return max(
        valid_until - timedelta(days=LAPSE_REMINDER_DAYS),
        recorded_at + (valid_until - recorded_at) / 2,
    )


def _renewable(purpose: DataUsePurpose, record, now: datetime) -> bool:
    if record is None or record.action != Action.OPT_IN:
        return False
    valid_until = add_months(record.recorded_at, purpose.validity_months)
    return renewal_opens_at(record.recorded_at, valid_until) <= now < valid_until


def remind_before_lapse(*, now: datetime | None = None) -> int:
    """Remind each person whose opt-in to a current purpose version lapses soon, once per
    opt-in (the dedupe key names the record). Returns how many were reminded.

    Three statements whatever the numbers: the current purposes; the opt-ins that are each
    person's newest record and fall in the window; the notifications (notify_many).
    """
    now = now or timezone.now()
    purposes = {p.about_id: p for p in current_purposes()}
    if not purposes:
        return 0
    soon = now + timedelta(days=LAPSE_REMINDER_DAYS)
    window = Q()
    for p in purposes.values():
        window |= Q(
            about_id=p.about_id,
            recorded_at__gt=add_months(now, -p.validity_months) - _SLACK,
            recorded_at__lte=add_months(soon, -p.validity_months) + _SLACK,
        )
    newest = (
        ConsentRecord.objects.filter(about_kind=DATA_USE, about_id__in=list(purposes))
        .values("subject_id", "about_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    candidates = ConsentRecord.objects.filter(
        window, id__in=Subquery(newest), action=Action.OPT_IN, subject__employee__is_active=True
    ).values_list("id", "subject_id", "about_id", "recorded_at", "subject__employee__name")
    due = []
    for record_id, subject_id, about_id, recorded_at, name in candidates:
        purpose = purposes[about_id]
        valid_until = add_months(recorded_at, purpose.validity_months)
        if renewal_opens_at(recorded_at, valid_until) <= now < valid_until:
            due.append(emails.LapseDue(record_id, subject_id, name, purpose, valid_until))
    return emails.lapse_reminders(due)


LAPSE_LOOKBACK = timedelta(days=7)  # a beat that was down for less than this misses nothing


@transaction.atomic
def announce_lapses(*, now: datetime | None = None) -> int:
    """A consent.changed event for each opt-in that lapsed in the last week, once (the outbox
    key names the record): collectors that listen instead of asking stop too. Returns how
    many events were due (already written ones included)."""
    now = now or timezone.now()
    purposes = {p.about_id: p for p in current_purposes().prefetch_related("webhook_endpoints")}
    if not purposes:
        return 0
    window = Q()
    for p in purposes.values():
        window |= Q(
            about_id=p.about_id,
            recorded_at__gt=add_months(now - LAPSE_LOOKBACK, -p.validity_months) - _SLACK,
            recorded_at__lte=add_months(now, -p.validity_months) + _SLACK,
        )
    newest = (
        ConsentRecord.objects.filter(about_kind=DATA_USE, about_id__in=list(purposes))
        .values("subject_id", "about_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    events = []
    for record_id, about_id, recorded_at, external_id, user_id in ConsentRecord.objects.filter(
        window, id__in=Subquery(newest), action=Action.OPT_IN
    ).values_list("id", "about_id", "recorded_at", "subject__employee__external_id", "subject_id"):
        purpose = purposes[about_id]
        valid_until = add_months(recorded_at, purpose.validity_months)
        if now - LAPSE_LOOKBACK < valid_until <= now:
            route = routed_to(e.pk for e in purpose.webhook_endpoints.all())  # prefetched
            events.append(
                _no_longer_allowed(
                    purpose,
                    route,
                    f"lapsed:{record_id}",
                    external_id,
                    user_id,
                    cause="lapsed",
                    record_id=record_id,
                    decided_at=recorded_at.isoformat(),
                    valid_until=valid_until.isoformat(),
                )  # fmt: skip
            )
    if events:
        record_events(events)
    return len(events)
