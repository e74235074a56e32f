"""Everything the portal holds about one person, as one JSON document (/privacy/export.json).

Built from the same selectors as the centre's pages, so the file and the pages cannot disagree,
and in a fixed number of queries however much there is. Private reasons are in it: it is the
person's own file. Times are ISO 8601 with their offset; links are absolute.
"""

from django.urls import reverse
from django.utils import timezone

from datause.views import choices_for
from notifications.rendering import subject_for
from people.selectors import display_name, team_changes_for
from privacy import selectors

FORMAT = "consent-portal/privacy-export"
FORMAT_VERSION = 1


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _person(user, employee) -> dict:
    return {
        "name": display_name(user),
        "email": user.email,
        "external_id": employee.external_id if employee else None,
        "title": employee.title if employee else "",
        "team": employee.team.name if employee and employee.team_id else None,
        "manager": employee.manager.name if employee and employee.manager_id else None,
    }


def _proposal(proposal, url) -> dict:
    return {
        "id": proposal.pk,
        "kind": proposal.kind,
        "state": proposal.state,
        "from_team": proposal.from_team.name if proposal.from_team_id else None,
        "to_team": proposal.to_team.name,
        "proposed_by": display_name(proposal.proposed_by),
        "campaign": proposal.campaign.name if proposal.campaign_id else None,
        "role_description": proposal.role_description,
        "data_labelling_percent": proposal.data_labelling_percent,
        "start_date": proposal.start_date.isoformat(),
        "response_deadline": _iso(proposal.response_deadline),
        "created_at": _iso(proposal.created_at),
        "decided_at": _iso(proposal.decided_at),
        "terms_sha256": proposal.terms_sha256,
        "url": url(reverse("assignments:proposal", args=[proposal.pk])),
    }


def _decision(decision: selectors.Decision, url) -> dict:
    record = decision.record
    return {
        "record_id": record.pk,
        "about_kind": record.about_kind,
        "about_id": record.about_id,
        "about": decision.title,
        "action": record.action,
        "action_label": decision.label,
        "recorded_at": _iso(record.recorded_at),
        "channel": record.channel,
        "ip_address": record.ip_address,
        "user_agent": record.user_agent,
        "private_reason": decision.reason,
        "terms_sha256": record.terms_sha256,
        "terms_version": record.terms_version,
        "terms_url": url(reverse("consent:terms", args=[record.terms_sha256])),
        "hash": record.hash,
        "previous_hash": record.prev_hash,
    }


def _receipt(decision: selectors.Decision, url) -> dict:
    return {
        "record_id": decision.record.pk,
        "record_hash": decision.record.hash,
        "page_url": url(decision.receipt_url),
        "json_url": url(decision.receipt_json_url),
        "jws_url": url(decision.receipt_jws_url),  # signed; verify with /.well-known/jwks.json
    }


def _data_use(row) -> dict:
    purpose, state = row["purpose"], row["state"]
    return {
        "purpose": purpose.slug,
        "title": purpose.title,
        "version": purpose.version,
        "collecting_system": purpose.collecting_system,
        "allowed": state["allowed"],
        "record_id": state["record_id"],
        "decided_at": _iso(state["decided_at"]),
        "valid_until": _iso(state["valid_until"]),
        "terms_sha256": row["document"].sha256 if row["document"] else None,
    }


def _notification(notification, url) -> dict:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "subject": subject_for(notification),
        "created_at": _iso(notification.created_at),
        "read_at": _iso(notification.read_at),
        "email": notification.email_state,
        "url": url(notification.url) if notification.url else "",
    }


def _read(read: selectors.Read) -> dict:
    return {
        "id": read.entry.pk,
        "who": read.who,
        "role": read.role,
        "at": _iso(read.at),
        "channel": read.entry.channel,
        "where": read.where,
        "why": read.why,
    }


def _check(check) -> dict:
    return {
        "collector": check.api_key.name,
        "purpose": check.purpose_slug,
        "purpose_version": check.purpose_version,
        "day": check.day.isoformat(),
        "checks": check.checks,
        "first_at": _iso(check.first_at),
        "last_at": _iso(check.last_at),
    }


def _export(export) -> dict:
    return {
        "id": export.pk,
        "at": _iso(export.at),
        "ip_address": export.ip_address,
        "user_agent": export.user_agent,
    }


def build_export(request, *, employee) -> dict:
    """The signed-in person's data; call after `services.log_export`, so the file lists its own
    download among the exports."""
    user = request.user
    url = request.build_absolute_uri
    decisions = selectors.describe(list(selectors.own_records(user)), user)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": _iso(timezone.now()),
        "person": _person(user, employee),
        "proposals": [_proposal(p, url) for p in selectors.own_proposals(employee)],
        "decisions": [_decision(d, url) for d in decisions],
        "receipts": [_receipt(d, url) for d in decisions],
        "data_use_consents": [_data_use(row) for row in choices_for(request)["rows"]],
        "team_changes": [
            {
                "at": _iso(change.at),
                "from_team": change.from_team.name if change.from_team_id else None,
                "to_team": change.to_team.name,
                "by": change.client_name,
            }
            for change in (team_changes_for(employee) if employee else [])
        ],
        "notifications": [_notification(n, url) for n in selectors.own_notifications(user)],
        "access_log": [
            _read(r) for r in selectors.reads_in_words(selectors.own_access_log(user), employee)
        ],
        "consent_checks": [_check(c) for c in selectors.own_consent_checks(user)],
        "exports": [_export(e) for e in selectors.own_exports(user)],
    }
