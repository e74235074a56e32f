"""Reads for the privacy centre: what the portal holds about the signed-in person, nobody else's.

Every function takes the reader and returns only the reader's own rows (there is no argument that
names anyone else, so no section can be pointed at another person), already joined, in a number
of queries that does not grow with the data.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from assignments.models import Proposal
from assignments.selectors import inbox_for
from consent import kinds
from consent.access import reads_of
from consent.models import AccessLogEntry, ConsentRecord, TermsDocument
from consent.selectors import private_reasons_of, records_of
from datause.checklog import checks_of
from notifications.models import Notification
from notifications.selectors import notifications_for
from people.models import Employee
from people.roles import HR_GROUP
from people.selectors import display_name
from privacy.models import DataExport


def private_reasons(records: list[ConsentRecord], reader) -> dict[int, str]:
    """The one place the centre reads private reasons: the ledger's reader opens them for
    their subject alone (record id -> reason; "" for anyone else's record, none given, or an
    erased key), every record's key in one query. Every section and the export read reasons
    through here."""
    return private_reasons_of(records, reader)


def own_proposals(employee: Employee | None) -> QuerySet[Proposal]:
    """Every proposal about the person, pending first; none without an employee."""
    if employee is None:
        return Proposal.objects.none()
    # The proposer's employee record names them without a query per proposal.
    return inbox_for(employee).select_related("proposed_by__employee")


@dataclass(frozen=True)
class Decision:
    """One ledger record about the person, in words, with its receipt's addresses."""

    record: ConsentRecord
    title: str  # what was decided on: the terms document's title, else the kind's label
    label: str  # the act as the person knew it ("Opted in", "Undrafted", ...)
    kind_label: str
    about_url: str  # the page of what it is about (a proposal), or ""
    reason: str  # the person's own private reason ("" for anyone else, or none given)

    @property
    def receipt_url(self) -> str:
        return reverse("consent:receipt", args=[self.record.pk])

    @property
    def receipt_json_url(self) -> str:
        return reverse("consent:receipt_json", args=[self.record.pk])

    @property
    def receipt_jws_url(self) -> str:
        return reverse("consent:receipt_jws", args=[self.record.pk])


def _about_url(record: ConsentRecord, kind: kinds.Kind) -> str:
    # As consent.views does: the page a workflow registered for its kind, by name.
    if not kind.url_name:
        return ""
    try:
        return reverse(kind.url_name, args=[record.about_id])
    except NoReverseMatch:
        return ""


def _title(content: dict | None, kind: kinds.Kind) -> str:
    if isinstance(content, dict) and isinstance(content.get("title"), str):
        return content["title"]
    return str(kind.label)


def describe(records: list[ConsentRecord], reader) -> list[Decision]:
    """The records in words: consent.receipts.decided for many records, reading their terms
    documents in one query instead of one each."""
    reasons = private_reasons(records, reader)
    documents = {
        d.sha256: d
        for d in TermsDocument.objects.filter(sha256__in={r.terms_sha256 for r in records})
    }
    decisions = []
    for record in records:
        kind = kinds.get(record.about_kind)
        document = documents.get(record.terms_sha256)
        content = document.content if document is not None else None
        label = None
        if kind.decision_label:
            label = import_string(kind.decision_label)(record.action, content)
        decisions.append(
            Decision(
                record=record,
                title=_title(content, kind),
                label=label or str(record.get_action_display()),
                kind_label=str(kind.label),
                about_url=_about_url(record, kind),
                reason=reasons[record.pk],
            )
        )
    return decisions


def own_records(user) -> QuerySet[ConsentRecord]:
    """The person's own ledger, newest first."""
    return records_of(user)


def own_notifications(user) -> QuerySet[Notification]:
    return notifications_for(user)


def own_consent_checks(user):
    """How often each collector's key checked the person's data-use consent, per purpose version
    and day, newest day first (the first check of each day is also in their access log)."""
    return checks_of(user)


def own_exports(user) -> QuerySet[DataExport]:
    """The person's own downloads of all their data, newest first."""
    return DataExport.objects.filter(person=user).order_by("-at", "-id")


@dataclass(frozen=True)
class Read:
    """One read of the person's consent data by someone else, as the person is shown it."""

    entry: AccessLogEntry
    who: str
    role: str
    at: datetime
    where: str  # the page's path, or the API endpoint's name
    channel: str  # web page, API, export: in words
    why: str  # the reason the viewer gave, if the page asks for one


def own_access_log(user) -> QuerySet[AccessLogEntry]:
    """The person's access log (consent.access.reads_of), joined with what names each viewer's
    role: their employee record, their API key (a collector's service account), their webhook
    endpoint (an endpoint's account) and whether they are in HR, so naming roles costs no query
    per entry."""
    return (
        reads_of(user)
        .select_related("viewer__employee", "viewer__api_key", "viewer__webhook_endpoint")
        .annotate(
            viewer_is_hr=Exists(Group.objects.filter(user=OuterRef("viewer_id"), name=HR_GROUP))
        )
    )


def role_of(entry: AccessLogEntry, employee: Employee | None) -> str:
    """The viewer's role as of now (the log stores who, not in which role they acted)."""
    viewer = entry.viewer
    api_key = getattr(viewer, "api_key", None)
    if api_key is not None:
        return _("API client (key “%(name)s”)") % {"name": api_key.name}
    endpoint = getattr(viewer, "webhook_endpoint", None)
    if endpoint is not None:
        return _("Another system, by webhook (%(url)s)") % {"url": endpoint.url}
    if viewer.is_superuser:
        return _("Administrator")
    if entry.viewer_is_hr:
        return _("HR")
    if employee is not None and employee.manager_id is not None:
        manager = getattr(viewer, "employee", None)
        if manager is not None and manager.pk == employee.manager_id:
            return _("Your manager")
    return _("Colleague")


def _who(viewer) -> str:
    api_key = getattr(viewer, "api_key", None)
    if api_key is not None:
        return api_key.name
    endpoint = getattr(viewer, "webhook_endpoint", None)
    if endpoint is not None:
        return endpoint.description or endpoint.url
    return display_name(viewer)


def reads_in_words(entries, employee: Employee | None) -> list[Read]:
    """Entries of `own_access_log` as the person is shown them (no queries)."""
    return [
        Read(
            entry=entry,
            who=_who(entry.viewer),
            role=role_of(entry, employee),
            at=entry.at,
            where=entry.page,
            channel=str(entry.get_channel_display()),
            why=entry.purpose,
        )
        for entry in entries
    ]
