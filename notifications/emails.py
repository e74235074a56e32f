"""Every message the portal sends: one function per message, three templates per message.

Each function decides who is told what, and writes the Notification row(s) through
`notifications.services`; rendering happens later, when the row is shown or emailed, in the
recipient's own time zone. Templates live in templates/emails/<kind>_subject.txt,
<kind>_body.txt and <kind>_body.html.

Privacy rule for everything addressed to a proposer, manager or HR: build it from the
proposal's state, never from a ConsentRecord's private reason.
"""

import zoneinfo
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import CharField, Count, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from assignments.models import Move, PlacementRequest, Proposal
from consent.models import ConsentRecord
from notifications.models import Notification
from notifications.services import NotificationSpec, notify_many
from people.models import Employee
from people.roles import HR_GROUP

Kind = Notification.Kind
SUMMARY_ITEMS = 25  # names listed in a summary; the count covers the rest


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # the page is not wired (yet); the message still makes sense
        return ""


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _proposal_context(p: Proposal) -> dict:
    return {
        "proposal_id": p.pk,
        "kind": p.kind,
        "kind_label": str(p.get_kind_display()),
        "employee_name": p.employee.name,
        "from_team": p.from_team.name if p.from_team_id else "",
        "to_team": p.to_team.name,
        "campaign": p.campaign.name if p.campaign_id else "",
        "role_description": p.role_description,
        "data_labelling_percent": p.data_labelling_percent,
        "start_date": p.start_date.isoformat(),
        "deadline": p.response_deadline.isoformat(),
    }


def _proposals():
    return Proposal.objects.select_related(
        "employee", "from_team", "to_team", "campaign", "proposed_by"
    )


def _load(proposal_id: int) -> Proposal | None:
    return _proposals().filter(pk=proposal_id).first()


def _hr_users():
    return get_user_model().objects.filter(groups__name=HR_GROUP, is_active=True).distinct()


def _proposer_name(p: Proposal) -> str:
    employee = Employee.objects.filter(user_id=p.proposed_by_id).only("name").first()
    return employee.name if employee else (p.proposed_by.get_full_name() or p.proposed_by.email)


def _proposer_names(proposals: list[Proposal]) -> dict[int, str]:
    """`_proposer_name` for a whole batch in one query: a campaign has thousands of proposals
    and a query each made notifying 7,000 people take about ten seconds (make bench)."""
    names = dict(
        Employee.objects.filter(user_id__in={p.proposed_by_id for p in proposals}).values_list(
            "user_id", "name"
        )
    )
    return {
        p.proposed_by_id: names.get(p.proposed_by_id)
        or p.proposed_by.get_full_name()
        or p.proposed_by.email
        for p in proposals
    }


# --- To the employee ---------------------------------------------------------------------


def proposals_arrived(proposal_ids: list[int]) -> list[int]:
    """Tell each person about their new proposal (one, or a whole campaign at once)."""
    proposals = [
        p for p in _proposals().filter(pk__in=proposal_ids) if p.state == Proposal.State.PENDING
    ]
    proposer_names = _proposer_names(proposals)
    return notify_many(
        [
            NotificationSpec(
                recipient_id=p.employee.user_id,
                kind=Kind.PROPOSAL_ARRIVED,
                dedupe_key=f"proposal_arrived:{p.pk}",
                context={**_proposal_context(p), "proposer_name": proposer_names[p.proposed_by_id]},
                url=_url("assignments:proposal", p.pk),
            )
            for p in proposals
        ]
    )


def _reminder_key(proposal_id: int, hours: int, deadline: datetime) -> str:
    # The deadline is part of the key, so an extension (or a return from leave) re-arms them.
    return f"deadline_reminder:{proposal_id}:{hours}h:{deadline.isoformat()}"


def send_due_reminders(*, now: datetime | None = None) -> list[int]:
    """Remind people whose deadline is near: once per threshold (default 72 h and 24 h).

    Only the tightest threshold that applies is sent, so a window that is already shorter
    than 72 h (after a pause, say) gets the 24 h reminder and not both at once. Nobody on
    leave is reminded: their window is paused. Runs every minute, so it first reads only ids
    and deadlines, and loads full rows just for the reminders not yet written.
    """
    now = now or timezone.now()
    thresholds = sorted(settings.PORTAL_REMINDER_HOURS)
    if not thresholds:
        return []
    window = Proposal.objects.filter(
        state=Proposal.State.PENDING,
        response_deadline__gt=now,
        response_deadline__lte=now + timedelta(hours=thresholds[-1]),
        employee__on_leave_since__isnull=True,
        employee__is_active=True,
    ).values_list("pk", "response_deadline")
    keys = {}
    for pk, deadline in window:
        hours = next(h for h in thresholds if deadline - now <= timedelta(hours=h))
        keys[_reminder_key(pk, hours, deadline)] = (pk, hours)
    if not keys:
        return []
    sent = set(
        Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
    )
    todo = dict(v for k, v in keys.items() if k not in sent)
    if not todo:
        return []
    return deadline_reminders(list(_proposals().filter(pk__in=todo)), todo)


def deadline_reminders(proposals: list[Proposal], hours_for: dict[int, int]) -> list[int]:
    """One reminder per proposal, threshold and deadline."""
    return notify_many(
        [
            NotificationSpec(
                recipient_id=p.employee.user_id,
                kind=Kind.DEADLINE_REMINDER,
                dedupe_key=_reminder_key(p.pk, hours_for[p.pk], p.response_deadline),
                context={**_proposal_context(p), "hours": hours_for[p.pk]},
                url=_url("assignments:proposal", p.pk),
            )
            for p in proposals
        ]
    )


def decision_receipt(record_id: int) -> list[int]:
    """The employee's receipt for their own decision, and the proposer's status update."""
    record = ConsentRecord.objects.filter(pk=record_id, about_kind="proposal").first()
    if record is None:
        return []
    p = _load(int(record.about_id))
    if p is None:
        return []
    context = {
        **_proposal_context(p),
        "record_id": record.pk,
        "action": record.action,
        "action_label": str(record.get_action_display()),
        "recorded_at": _iso(record.recorded_at),
        "terms_sha256": record.terms_sha256,
        "record_hash": record.hash,
        "channel": record.channel,
    }
    specs = [
        NotificationSpec(
            recipient_id=record.subject_id,
            kind=Kind.DECISION_RECEIPT,
            dedupe_key=f"decision_receipt:{record.pk}",
            context=context,
            url=_url("assignments:proposal", p.pk),
        )
    ]
    if p.proposed_by_id != record.subject_id:
        # Deliberately a fresh dict: no hash, no channel and never the private reason.
        specs.append(
            NotificationSpec(
                recipient_id=p.proposed_by_id,
                kind=Kind.PROPOSAL_DECIDED,
                dedupe_key=f"proposal_decided:{record.pk}",
                context={
                    **_proposal_context(p),
                    "action": record.action,
                    "action_label": str(record.get_action_display()),
                    "recorded_at": _iso(record.recorded_at),
                },
                url=_url("assignments:team_proposals"),
            )
        )
    return notify_many(specs)


def proposal_withdrawn(proposal_id: int) -> list[int]:
    p = _load(proposal_id)
    if p is None or p.state != Proposal.State.WITHDRAWN:
        return []
    return notify_many(
        [
            NotificationSpec(
                recipient_id=p.employee.user_id,
                kind=Kind.PROPOSAL_WITHDRAWN,
                dedupe_key=f"proposal_withdrawn:{p.pk}",
                context={**_proposal_context(p), "proposer_name": _proposer_name(p)},
                url=_url("assignments:proposal", p.pk),
            )
        ]
    )


def deadline_extended(proposal_id: int, event_id: int) -> list[int]:
    p = _load(proposal_id)
    if p is None or p.state != Proposal.State.PENDING:
        return []
    return notify_many(
        [
            NotificationSpec(
                recipient_id=p.employee.user_id,
                kind=Kind.DEADLINE_EXTENDED,
                dedupe_key=f"deadline_extended:{p.pk}:{event_id}",
                context=_proposal_context(p),
                url=_url("assignments:proposal", p.pk),
            )
        ]
    )


# --- Written by the sweep, in bulk ---------------------------------------------------------


def proposals_expired(rows: list[dict], *, now: datetime) -> None:
    """Tell employees and proposers that proposals lapsed. Runs inside the sweep's transaction.

    `rows` come from the sweep's own query (no per-row reads here): pk, employee__user_id,
    employee__name, proposed_by_id, to_team__name, start_date, response_deadline. Each
    employee gets one notice; each proposer gets one summary per sweep, not one email per
    person (a campaign of thousands must not flood HR's inbox).
    """
    specs = []
    by_proposer = defaultdict(list)
    for r in rows:
        specs.append(
            NotificationSpec(
                recipient_id=r["employee__user_id"],
                kind=Kind.PROPOSAL_EXPIRED,
                dedupe_key=f"proposal_expired:{r['pk']}",
                context={
                    "audience": "employee",
                    "proposal_id": r["pk"],
                    "employee_name": r["employee__name"],
                    "to_team": r["to_team__name"],
                    "deadline": r["response_deadline"].isoformat(),
                },
                url=f"/proposals/{r['pk']}/",
                created_at=now,
            )
        )
        if r["proposed_by_id"] != r["employee__user_id"]:
            by_proposer[r["proposed_by_id"]].append(r)
    for proposer_id, items in by_proposer.items():
        specs.append(
            NotificationSpec(
                recipient_id=proposer_id,
                kind=Kind.PROPOSAL_EXPIRED,
                # A proposal expires once, so its id names this batch uniquely.
                dedupe_key=f"proposal_expired:proposer:{proposer_id}:{min(r['pk'] for r in items)}",
                context={
                    "audience": "proposer",
                    "count": len(items),
                    "proposal_ids": [r["pk"] for r in items],
                    "items": [
                        {
                            "employee_name": r["employee__name"],
                            "to_team": r["to_team__name"],
                            "deadline": r["response_deadline"].isoformat(),
                        }
                        for r in items[:SUMMARY_ITEMS]
                    ],
                },
                url=_url("assignments:team_proposals"),
                created_at=now,
            )
        )
    notify_many(specs, keys_are_new=True)


# --- Outbox handler: the move took effect --------------------------------------------------


def move_effective(event) -> None:
    """settings.OUTBOX_HANDLERS["move.effective"]: tell the employee and the proposer."""
    move = (
        Move.objects.select_related("proposal", "employee", "from_team", "to_team")
        .filter(pk=event.payload["move_id"])
        .first()
    )
    if move is None:
        return
    p = move.proposal
    context = {
        "proposal_id": p.pk,
        "employee_name": move.employee.name,
        "from_team": move.from_team.name if move.from_team_id else "",
        "to_team": move.to_team.name,
        "start_date": move.effective_date.isoformat(),
        "applied_at": _iso(move.applied_at),
    }
    specs = [
        NotificationSpec(
            recipient_id=move.employee.user_id,
            kind=Kind.MOVE_EFFECTIVE,
            dedupe_key=f"move_effective:{move.pk}:employee",
            context={**context, "audience": "employee"},
            url=_url("assignments:proposal", p.pk),
        )
    ]
    if p.proposed_by_id != move.employee.user_id:
        specs.append(
            NotificationSpec(
                recipient_id=p.proposed_by_id,
                kind=Kind.MOVE_EFFECTIVE,
                dedupe_key=f"move_effective:{move.pk}:proposer",
                context={**context, "audience": "proposer"},
                url=_url("assignments:team_proposals"),
            )
        )
    notify_many(specs)


# --- To HR ----------------------------------------------------------------------------------


def placement_requested(request_id: int) -> list[int]:
    request = (
        PlacementRequest.objects.select_related("employee", "source_proposal__to_team")
        .prefetch_related("preferences__team")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        return []
    context = {
        "request_id": request.pk,
        "employee_name": request.employee.name,
        "priority_label": str(request.get_priority_display()),
        "source_team": request.source_proposal.to_team.name,
        "preferences": [pref.team.name for pref in request.preferences.all()],
        "created_at": _iso(request.created_at),
    }
    return notify_many(
        [
            NotificationSpec(
                recipient_id=user.pk,
                kind=Kind.PLACEMENT_REQUESTED,
                dedupe_key=f"placement_requested:{request.pk}:{user.pk}",
                context=context,
                url=f"/admin/assignments/placementrequest/{request.pk}/change/",
            )
            for user in _hr_users()
        ]
    )


def hr_digest(*, now: datetime | None = None) -> list[int]:
    """One digest per HR partner per day: what is pending, decided, and expiring soon.

    Counts and names only; no private reasons. The dedupe key carries the date, so a second
    beat (or a retried task) on the same day sends nothing more.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    since = now - timedelta(days=1)
    soon = now + timedelta(hours=max(settings.PORTAL_REMINDER_HOURS or [72]))
    State = Proposal.State
    counts = Proposal.objects.aggregate(
        pending=Count("pk", filter=Q(state=State.PENDING)),
        opted_in_24h=Count("pk", filter=Q(state=State.OPTED_IN, decided_at__gte=since)),
        opted_out_24h=Count("pk", filter=Q(state=State.OPTED_OUT, decided_at__gte=since)),
        expired_24h=Count("pk", filter=Q(state=State.EXPIRED, decided_at__gte=since)),
        moves_24h=Count("pk", filter=Q(move__applied_at__gte=since)),
        expiring_soon=Count("pk", filter=Q(state=State.PENDING, response_deadline__lte=soon)),
    )
    counts["open_placement_requests"] = PlacementRequest.objects.filter(
        state=PlacementRequest.State.OPEN
    ).count()
    expiring = [
        {
            "proposal_id": pk,
            "employee_name": name,
            "to_team": team,
            "deadline": deadline.isoformat(),
        }
        for pk, name, team, deadline in Proposal.objects.filter(
            state=State.PENDING, response_deadline__lte=soon
        )
        .order_by("response_deadline")
        .values_list("pk", "employee__name", "to_team__name", "response_deadline")[:25]
    ]
    context = {"day": day.isoformat(), **counts, "expiring": expiring}
    return notify_many(
        [
            NotificationSpec(
                recipient_id=user.pk,
                kind=Kind.HR_DIGEST,
                dedupe_key=f"hr_digest:{day.isoformat()}:{user.pk}",
                context=context,
                url="/admin/assignments/proposal/",
            )
            for user in _hr_users()
        ]
    )


# --- Rendering ------------------------------------------------------------------------------

_DATETIME_KEYS = ("deadline", "recorded_at", "expired_at", "applied_at", "created_at")
_DATE_KEYS = ("start_date", "day")


def _typed(context: dict) -> dict:
    """JSON holds strings; templates format real dates and times (in the active zone)."""
    out = dict(context)
    for key in _DATETIME_KEYS:
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key])
    for key in _DATE_KEYS:
        if isinstance(out.get(key), str):
            out[key] = date.fromisoformat(out[key])
    for listing in ("expiring", "items"):
        out[listing] = [
            {**item, "deadline": datetime.fromisoformat(item["deadline"])}
            for item in out.get(listing) or []
        ]
    return out


def zone_for(user_id: int) -> zoneinfo.ZoneInfo:
    name = Employee.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first()
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def render(notification: Notification, *, zone=None) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a notification, with times in the recipient's zone."""
    context = {
        **_typed(notification.context),
        "notification": notification,
        "base_url": settings.PORTAL_BASE_URL,
        "link": settings.PORTAL_BASE_URL + notification.url if notification.url else "",
    }
    name = f"emails/{notification.kind}"
    with (
        timezone.override(zone or zone_for(notification.recipient_id)),
        translation.override(settings.LANGUAGE_CODE),
    ):
        subject = render_to_string(f"{name}_subject.txt", context)
        text = render_to_string(f"{name}_body.txt", context)
        html = render_to_string(f"{name}_body.html", context)
    return " ".join(subject.split()), text, html


def subject_for(notification: Notification, *, zone=None) -> str:
    context = _typed(notification.context)
    with timezone.override(zone or zone_for(notification.recipient_id)):
        subject = render_to_string(f"emails/{notification.kind}_subject.txt", context)
    return " ".join(subject.split())


def build_message(notification: Notification, to: str) -> EmailMultiAlternatives:
    subject, text, html = render(notification)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            # Stable per notification: if a crash makes us send twice, mail clients (and the
            # tests) can tell it is the same message.
            "Message-ID": f"<{notification.dedupe_key.replace(':', '.')}@consent-portal>",
            "X-Portal-Notification": str(notification.pk),
        },
    )
    message.attach_alternative(html, "text/html")
    return message


# --- Safety net: producers whose queued task was lost ----------------------------------------

# Decisions, arrivals and placement requests are turned into notifications by tasks queued on
# commit. If the broker lost that message (a crash between commit and enqueue, a restarted
# Redis without persistence), nobody would be told. This pass finds the events that still have
# no notification and runs their producer again; dedupe keys make a late double run harmless.
LOST_AFTER = timedelta(minutes=2)  # leave the normal path time to run first
LOOK_BACK = timedelta(days=7)
RECEIPT_ACTIONS = ("opt_in", "opt_out", "withdraw", "undraft")


def _without_notification(qs, prefix: str, *, startswith: bool = False):
    key = Concat(Value(prefix), Cast("pk", CharField()), Value(":" if startswith else ""))
    lookup = "dedupe_key__startswith" if startswith else "dedupe_key"
    return qs.annotate(expected_key=key).filter(
        ~Exists(Notification.objects.filter(**{lookup: OuterRef("expected_key")}))
    )


def recreate_lost(*, now: datetime | None = None, limit: int = 1000) -> dict:
    now = now or timezone.now()
    window = (now - LOOK_BACK, now - LOST_AFTER)
    arrivals = list(
        _without_notification(
            Proposal.objects.filter(state=Proposal.State.PENDING, created_at__range=window),
            "proposal_arrived:",
        ).values_list("pk", flat=True)[:limit]
    )
    if arrivals:
        proposals_arrived(arrivals)
    receipts = list(
        _without_notification(
            ConsentRecord.objects.filter(
                about_kind="proposal", action__in=RECEIPT_ACTIONS, recorded_at__range=window
            ),
            "decision_receipt:",
        ).values_list("pk", flat=True)[:limit]
    )
    for record_id in receipts:
        decision_receipt(record_id)
    placements = []
    if _hr_users().exists():  # with no HR partner there is nobody to tell yet
        placements = list(
            _without_notification(
                PlacementRequest.objects.filter(created_at__range=window),
                "placement_requested:",
                startswith=True,
            ).values_list("pk", flat=True)[:limit]
        )
    for request_id in placements:
        placement_requested(request_id)
    return {"arrivals": len(arrivals), "receipts": len(receipts), "placements": len(placements)}
