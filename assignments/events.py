"""What other systems hear about proposals: outbox events, written in the change's own
transaction (outbox.services), delivered later as signed webhooks (webhooks/).

Payloads carry ids, states and times, never a private reason or the words of a decision's
note: a webhook leaves the company's hands.
"""

from outbox.services import record_event, record_events
from webhooks.services import about


def _proposal(p) -> dict:
    return {
        "proposal_id": p.pk,
        "employee_id": p.employee_id,
        "employee_external_id": p.employee.external_id,
        "kind": p.kind,
        "state": p.state,
        "from_team_id": p.from_team_id,
        "to_team_id": p.to_team_id,
        "campaign_id": p.campaign_id,
        "start_date": p.start_date.isoformat(),
        "response_deadline": p.response_deadline.isoformat(),
        "terms_sha256": p.terms_sha256,
        **about(p.subject_user_id),  # the person's access log names each receiver
    }


def proposals_created(proposals) -> None:
    # Keys are new: these proposals were created a moment ago, in this transaction.
    record_events(
        [("proposal.created", f"proposal.created:{p.pk}", _proposal(p)) for p in proposals],
        keys_are_new=True,
    )


def proposal_decided(record, proposal) -> None:
    record_event(
        topic="proposal.decided",
        key=f"proposal.decided:{record.pk}",
        payload={
            **_proposal(proposal),
            "action": record.action,
            "record_id": record.pk,
            "recorded_at": record.recorded_at.isoformat(),
        },
    )


def proposal_withdrawn(proposal) -> None:
    record_event(
        topic="proposal.withdrawn",
        key=f"proposal.withdrawn:{proposal.pk}",
        payload=_proposal(proposal),
    )


def proposals_expired(rows: list[dict], *, now) -> None:
    record_events(
        [
            (
                "proposal.expired",
                f"proposal.expired:{r['pk']}",
                {
                    "proposal_id": r["pk"],
                    "employee_user_id": r["employee__user_id"],
                    "state": "expired",
                    "expired_at": now.isoformat(),
                    "terms_sha256": r["terms_sha256"],
                    **about(r["subject_user_id"]),
                },
            )
            for r in rows
        ],
        keys_are_new=True,  # a proposal expires once, under the sweep's conditional update
    )


def placement_requested(request) -> None:
    record_event(
        topic="placement.requested",
        key=f"placement.requested:{request.pk}",
        payload={
            "placement_request_id": request.pk,
            "employee_id": request.employee_id,
            "source_proposal_id": request.source_proposal_id,
            "priority": request.priority,
            "created_at": request.created_at.isoformat(),
            **about(request.employee.user_id),
        },
    )
