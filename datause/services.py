"""Publishing purposes, and a person's own opt-in and opt-out: the only writers of data-use
decisions to the ledger."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import ConsentRecord
from consent.services import RequestContext, append_record
from datause import emails, terms
from datause.check import DATA_USE, answer
from datause.models import DataUsePurpose
from datause.selectors import newest_version_of
from outbox.services import record_event
from people.models import Employee
from portal.errors import TransitionError

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
    return purpose


def draft_next_version(*, purpose: DataUsePurpose, **changes) -> DataUsePurpose:
    """A new, unpublished version of a purpose: what changed, and everything else as it was."""
    latest = DataUsePurpose.objects.filter(slug=purpose.slug).order_by("-version").first()
    fields = {name: getattr(purpose, name) for name in COPIED}
    return DataUsePurpose.objects.create(
        **{**fields, **changes}, version=latest.version + 1, terms_sha256=""
    )


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
    # stand, so opting in again renews it).
    if want_allowed and allowed_now:
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
