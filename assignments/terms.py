"""The exact terms an employee is shown for a proposal, and their fingerprint.

The sha256 of these terms is stored on the proposal and on every ledger record about it, so
a decision is always bound to the words the person actually read. The deadline is not part
of the terms: extending it does not change what the person is agreeing to.
"""

from consent.ledger import sha256_of

OPT_OUT_GUARANTEE = (
    "Saying no is free: you keep your current role, your manager never sees your reason, "
    "and if you are moved or stay moved against your wish you get a preferential placement."
)


def proposal_terms(
    *,
    kind: str,
    employee_name: str,
    from_team: str | None,
    to_team: str,
    role_description: str,
    data_labelling_percent: int,
    start_date,
    campaign_name: str | None,
    campaign_description: str | None,
    terms_version: str,
) -> dict:
    return {
        "kind": kind,
        "employee": employee_name,
        "from_team": from_team,
        "to_team": to_team,
        "role_description": role_description,
        "data_labelling_percent": data_labelling_percent,
        "start_date": start_date.isoformat(),
        "campaign": campaign_name,
        "campaign_description": campaign_description,
        "terms_version": str(terms_version),
        "opt_out_guarantee": OPT_OUT_GUARANTEE,
    }


def terms_for(proposal) -> dict:
    campaign = proposal.campaign
    return proposal_terms(
        kind=proposal.kind,
        employee_name=proposal.employee.name,
        from_team=proposal.from_team.name if proposal.from_team else None,
        to_team=proposal.to_team.name,
        role_description=proposal.role_description,
        data_labelling_percent=proposal.data_labelling_percent,
        start_date=proposal.start_date,
        campaign_name=campaign.name if campaign else None,
        campaign_description=campaign.description if campaign else None,
        terms_version=proposal.terms_version,
    )


def terms_sha256(proposal) -> str:
    return sha256_of(terms_for(proposal))


def fingerprint(proposals) -> list[str]:
    """The terms fingerprint of each new proposal, from the rows already in memory."""
    return [terms_sha256(p) for p in proposals]
