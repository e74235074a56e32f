"""Browser pages for employees (inbox, proposal, decisions) and managers (team proposals).

Views only translate: fetch through a selector (anything outside it is a 404), check the
right in `permissions`, call one service, and turn its errors into words on the page.
Every decision works without JavaScript: a GET renders the confirmation step, a POST
records it. htmx, when present, only loads the confirmation step in place.
"""

from assignments.views.employee import (
    inbox,
    opt_in,
    opt_out,
    proposal_detail,
    undraft,
    withdraw_consent,
)
from assignments.views.manager import extend, propose, team_proposals, withdraw

__all__ = [
    "extend",
    "inbox",
    "opt_in",
    "opt_out",
    "propose",
    "proposal_detail",
    "team_proposals",
    "undraft",
    "withdraw",
    "withdraw_consent",
]
