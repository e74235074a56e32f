"""Every message about proposals: who is told what, written inside the change's transaction.

Each function builds the Notification rows for one event through the post office
(`notifications.services.notify_many`) from objects the service already holds, so a committed
change always has its notices (the rows are the durable outbox; their emails are queued on
commit and re-queued by `notifications.tasks.requeue_pending_emails` if that queueing is lost),
and a rolled-back change has none. Rendering happens later, in the recipient's zone and
language, from templates/emails/<kind>_subject.txt, _body.txt and _body.html.

Privacy rule for everything addressed to a proposer, manager or HR: build it from the
proposal's state, never from a ConsentRecord's private reason. A notice that tells someone of
another person's decision (a proposer of an answer, an expiry or a move; HR of a placement
request) is a read of that person's consent data: `_log_told` puts it in their access log.

Words are chosen when a message is rendered, never when it is written: the context holds codes
(`kind`, `action`, `priority`, `channel`) and names, and the templates pick the words for them
in the reader's language. A label stored as a finished string would stay in the language of
whoever happened to cause the change.
"""

import functools
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.template import engines
from django.urls import reverse
from django.utils import timezone

from assignments.models import Move, PlacementRequest, Proposal
from consent.access import record_pairs
from notifications.models import Notification
from notifications.services import NotificationSpec, notify_many
from people.roles import hr_users
from people.selectors import display_name

Kind = Notification.Kind
SUMMARY_ITEMS = 25  # names listed in a summary; the count covers the rest

# Decisions that earn the person a receipt (all of their own decisions; never an expiry,
# which is the system's record of silence and has its own notice).
RECEIPT_ACTIONS = ("opt_in", "opt_out", "withdraw", "undraft")


def _log_told(told: list[tuple[int, int]], kind: str, *, at: datetime | None = None) -> None:
    """(recipient, person) pairs: each recipient was told of that person's decision."""
    record_pairs(told, page=f"notice: {kind}", purpose=f"notice {kind}", at=at)


def _proposal_url(proposal_id: int) -> str:
    return reverse("assignments:proposal", args=[proposal_id])


def _proposal_urls():
    """id -> the proposal page's URL, with one reverse() for a whole batch (reverse() per
    proposal was most of the cost of telling 7,000 people at once)."""
    marker = 987654321
    head, tail = reverse("assignments:proposal", args=[marker]).rsplit(str(marker), 1)
    return lambda proposal_id: f"{head}{int(proposal_id)}{tail}"


def _team_url() -> str:
    return reverse("assignments:team_proposals")


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _proposal_context(p: Proposal) -> dict:
    return {
        "proposal_id": p.pk,
        "kind": p.kind,
        "employee_name": p.employee.name,
        "from_team": p.from_team.name if p.from_team_id else "",
        "to_team": p.to_team.name,
        "campaign": p.campaign.name if p.campaign_id else "",
        "role_description": p.role_description,
        "data_labelling_percent": p.data_labelling_percent,
        "start_date": p.start_date.isoformat(),
        "deadline": p.response_deadline.isoformat(),
        # The structured facts (part of the terms); "" means not stated. pay_band_change is
        # a code: "none", "up" or "down".
        "grade": p.grade,
        "pay_band_change": p.pay_band_change,
        "location": p.location,
        "new_manager": p.new_manager,
        "expected_duration": p.expected_duration,
        "contact_name": p.contact_name,
        "contact_email": p.contact_email,
    }


# --- To the employee ---------------------------------------------------------------------


def proposals_arrived(proposals: list[Proposal], *, proposer, keys_are_new: bool = False) -> None:
    """Tell each person about their new proposal (one, or a whole campaign at once)."""
    proposer_name = display_name(proposer)
    url = _proposal_urls()
    notify_many(
        [
            NotificationSpec(
                recipient_id=p.employee.user_id,
                kind=Kind.PROPOSAL_ARRIVED,
                dedupe_key=f"proposal_arrived:{p.pk}",
                context={**_proposal_context(p), "proposer_name": proposer_name},
                url=url(p.pk),
                created_at=p.created_at,
            )
            for p in proposals
        ],
        keys_are_new=keys_are_new,
    )


def reminder_key(proposal_id: int, hours: int, deadline: datetime) -> str:
    # The deadline is part of the key, so an extension (or a return from leave) re-arms them.
    return f"deadline_reminder:{proposal_id}:{hours}h:{deadline.isoformat()}"


def deadline_reminders(proposals: list[Proposal], hours_for: dict[int, int]) -> list[int]:
    """One reminder per proposal, threshold and deadline (services.clock decides who is due)."""
    url = _proposal_urls()
    return notify_many(
        [
            NotificationSpec(
                recipient_id=p.employee.user_id,
                kind=Kind.DEADLINE_REMINDER,
                dedupe_key=reminder_key(p.pk, hours_for[p.pk], p.response_deadline),
                context={**_proposal_context(p), "hours": hours_for[p.pk]},
                url=url(p.pk),
            )
            for p in proposals
        ]
    )


def decision_receipt(record, proposal: Proposal) -> None:
    """The employee's receipt for their own decision, and the proposer's status update."""
    context = {
        **_proposal_context(proposal),
        "proposer_name": display_name(proposal.proposed_by),
        "record_id": record.pk,
        "receipt_url": reverse("consent:receipt", args=[record.pk]),
        "action": record.action,
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
            url=_proposal_url(proposal.pk),
        )
    ]
    if proposal.proposed_by_id != record.subject_id:
        # Deliberately a fresh dict: no hash, no channel and never the private reason.
        specs.append(
            NotificationSpec(
                recipient_id=proposal.proposed_by_id,
                kind=Kind.PROPOSAL_DECIDED,
                dedupe_key=f"proposal_decided:{record.pk}",
                context={
                    **_proposal_context(proposal),
                    "action": record.action,
                    "recorded_at": _iso(record.recorded_at),
                },
                url=_team_url(),
            )
        )
        _log_told([(proposal.proposed_by_id, record.subject_id)], Kind.PROPOSAL_DECIDED)
    notify_many(specs)


def decision_label(action: str, content: dict | None) -> str | None:
    """consent.kinds hook: the name of a decision about a proposal, as the person knew it.

    The ledger records a retroactive confirmation's "undraft" as `opt_out` and its "stay" as
    `opt_in`; the kind of the terms document tells them apart. The words live in
    templates/emails/_decision.txt, where the emails take them from too, so one act has one
    name in every email and receipt. None for an action the template does not name.
    """
    facts = (content or {}).get("facts") or content or {}
    words = _decision_words().render({"action": action, "kind": facts.get("kind", "")})
    return words.strip() or None


@functools.cache
def _decision_words():
    # Plain words, unescaped: the receipt page escapes them once, and the JSON not at all.
    return engines["django"].from_string(
        '{% autoescape off %}{% include "emails/_decision.txt" %}{% endautoescape %}'
    )


def proposal_withdrawn(proposal: Proposal, *, reason: str = "") -> None:
    notify_many(
        [
            NotificationSpec(
                recipient_id=proposal.employee.user_id,
                kind=Kind.PROPOSAL_WITHDRAWN,
                dedupe_key=f"proposal_withdrawn:{proposal.pk}",
                context={
                    **_proposal_context(proposal),
                    "proposer_name": display_name(proposal.proposed_by),
                    "reason": reason,  # the proposer's words, owed to the person
                },
                url=_proposal_url(proposal.pk),
            )
        ]
    )


def deadline_extended(proposal: Proposal, event) -> None:
    reason = event.detail.get("reason", "")
    for_leave = reason == "leave"  # the leave path's code, not anyone's words
    notify_many(
        [
            NotificationSpec(
                recipient_id=proposal.employee.user_id,
                kind=Kind.DEADLINE_EXTENDED,
                dedupe_key=f"deadline_extended:{proposal.pk}:{event.pk}",
                context={
                    **_proposal_context(proposal),
                    "reason": "" if for_leave else reason,
                    "extended_for_leave": for_leave,
                    "previous_deadline": event.detail.get("previous", ""),
                },
                url=_proposal_url(proposal.pk),
            )
        ]
    )


def proposals_expired(rows: list[dict], *, now: datetime) -> None:
    """Tell employees and proposers that proposals lapsed. Runs inside the sweep's transaction.

    `rows` come from the sweep's own query (no per-row reads here): pk, employee__user_id,
    employee__name, proposed_by_id, to_team__name, start_date, response_deadline. Each
    employee gets one notice; each proposer gets one summary per sweep, not one email per
    person (a campaign of thousands must not flood HR's inbox). A retroactive confirmation
    left unanswered is worded as what it is (no consent on record, never "nothing changes");
    which rows are retroactive is one query for the whole batch, unless the rows say.
    """
    specs = []
    by_proposer = defaultdict(list)
    kinds = _kinds_of(rows)
    url = _proposal_urls()
    for r in rows:
        specs.append(
            NotificationSpec(
                recipient_id=r["employee__user_id"],
                kind=Kind.PROPOSAL_EXPIRED,
                dedupe_key=f"proposal_expired:{r['pk']}",
                context={
                    "audience": "employee",
                    "proposal_id": r["pk"],
                    "kind": kinds[r["pk"]],
                    "employee_name": r["employee__name"],
                    "to_team": r["to_team__name"],
                    "start_date": r["start_date"].isoformat(),
                    "deadline": r["response_deadline"].isoformat(),
                },
                url=url(r["pk"]),
                created_at=now,
            )
        )
        if r["proposed_by_id"] != r["employee__user_id"]:
            by_proposer[r["proposed_by_id"]].append(r)
    team_url = _team_url()
    _log_told(
        [
            (proposer, r["employee__user_id"])
            for proposer, items in by_proposer.items()
            for r in items
        ],
        Kind.PROPOSAL_EXPIRED,
        at=now,
    )
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
                    "retroactive_count": sum(
                        kinds[r["pk"]] == Proposal.Kind.RETROACTIVE for r in items
                    ),
                    "proposal_ids": [r["pk"] for r in items],
                    "items": [
                        {
                            "kind": kinds[r["pk"]],
                            "employee_name": r["employee__name"],
                            "to_team": r["to_team__name"],
                            "deadline": r["response_deadline"].isoformat(),
                        }
                        for r in items[:SUMMARY_ITEMS]
                    ],
                },
                url=team_url,
                created_at=now,
            )
        )
    notify_many(specs, keys_are_new=True)


def _kinds_of(rows: list[dict]) -> dict[int, str]:
    """Each expired proposal's kind: from the rows if the sweep selected it, else the few
    retroactive ones found in one query (the others are worded alike, so "" will do)."""
    if all("kind" in r for r in rows):
        return {r["pk"]: r["kind"] for r in rows}
    retroactive = set(
        Proposal.objects.filter(
            pk__in=[r["pk"] for r in rows], kind=Proposal.Kind.RETROACTIVE
        ).values_list("pk", flat=True)
    )
    return {r["pk"]: Proposal.Kind.RETROACTIVE if r["pk"] in retroactive else "" for r in rows}


# --- Outbox handler: the move took effect --------------------------------------------------


def move_effective(event) -> None:
    """settings.OUTBOX_HANDLERS["move.effective"]: tell the employee and the proposer.

    Run by the outbox dispatcher, whose event row was written in the move's own transaction,
    so this notice cannot be lost either; dedupe keys make a second dispatch harmless.
    """
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
            url=_proposal_url(p.pk),
        )
    ]
    if p.proposed_by_id != move.employee.user_id:
        key = f"move_effective:{move.pk}:proposer"
        specs.append(
            NotificationSpec(
                recipient_id=p.proposed_by_id,
                kind=Kind.MOVE_EFFECTIVE,
                dedupe_key=key,
                context={**context, "audience": "proposer"},
                url=_team_url(),
            )
        )
        # A second dispatch of the event tells nobody again (notify_many skips the key).
        if not Notification.objects.filter(dedupe_key=key).exists():
            _log_told([(p.proposed_by_id, move.employee.user_id)], Kind.MOVE_EFFECTIVE)
    notify_many(specs)


# --- To HR ----------------------------------------------------------------------------------


def placement_requested(request: PlacementRequest, *, preferences, source_team) -> None:
    context = {
        "request_id": request.pk,
        "employee_name": request.employee.name,
        "priority": request.priority,  # the code; the template words it for the reader
        "source_team": source_team.name,
        "preferences": [team.name for team in preferences],
        "created_at": _iso(request.created_at),
    }
    hr = list(hr_users())
    _log_told([(user.pk, request.employee.user_id) for user in hr], Kind.PLACEMENT_REQUESTED)
    notify_many(
        [
            NotificationSpec(
                recipient_id=user.pk,
                kind=Kind.PLACEMENT_REQUESTED,
                dedupe_key=f"placement_requested:{request.pk}:{user.pk}",
                context=context,
                url=reverse("hr:placements"),  # the queue HR works, not the admin
            )
            for user in hr
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
    retroactive = Q(kind=Proposal.Kind.RETROACTIVE)
    counts = Proposal.objects.aggregate(
        pending=Count("pk", filter=Q(state=State.PENDING)),
        opted_in_24h=Count("pk", filter=Q(state=State.OPTED_IN, decided_at__gte=since)),
        opted_out_24h=Count(
            "pk", filter=Q(state=State.OPTED_OUT, decided_at__gte=since) & ~retroactive
        ),
        # A retroactive confirmation's "stay" and "undraft" are named as such, not as opt-ins.
        stayed_24h=Count(
            "pk", filter=Q(state=State.EFFECTIVE, decided_at__gte=since) & retroactive
        ),
        expired_24h=Count("pk", filter=Q(state=State.EXPIRED, decided_at__gte=since)),
        moves_24h=Count("pk", filter=Q(move__applied_at__gte=since)),
        expiring_soon=Count("pk", filter=Q(state=State.PENDING, response_deadline__lte=soon)),
    )
    counts["open_placement_requests"] = PlacementRequest.objects.filter(
        state=PlacementRequest.State.OPEN
    ).count()
    # Every placement request is opened by an undraft (after a move, or from a retroactive
    # confirmation), so the requests of the day count the day's undrafts.
    counts["undrafted_24h"] = PlacementRequest.objects.filter(created_at__gte=since).count()
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
    context = {
        "day": day.isoformat(),
        "soon_hours": max(settings.PORTAL_REMINDER_HOURS or [72]),
        **counts,
        "expiring": expiring,
    }
    return notify_many(
        [
            NotificationSpec(
                recipient_id=user.pk,
                kind=Kind.HR_DIGEST,
                dedupe_key=f"hr_digest:{day.isoformat()}:{user.pk}",
                context=context,
                url=reverse("hr:workspace"),
            )
            for user in hr_users()
        ]
    )
