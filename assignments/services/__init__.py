"""Every state change of a proposal, one sub-topic per module, re-exported here so callers
write `services.opt_in(...)`.

- proposing: propose_transfer, propose_transfers (a batch), propose_retroactive_confirmation,
  propose_campaign
- deciding:  opt_in, opt_out, withdraw_consent, undraft (only the person decides)
- placement: preferential placement requests
- managing:  withdraw_proposal, extend_deadline (the proposer, the manager or HR)
- clock:     expire_overdue_proposals, apply_move, apply_due_moves, send_due_reminders
- leave:     start_leave, end_leave (response windows pause while someone is away)
- campaigns: HR's drafts, audiences, preview, send_campaign (sent once); CSV imports
- placing:   offer_placement (HR works the placement queue)
- deactivation: withdraw_open_proposals_on_deactivation (settings.PEOPLE_DEACTIVATION_HOOKS)

Which state may follow which is one table, `assignments.transitions`; the response window's
rules are `assignments.deadlines`; the messages are `assignments.emails`. Each service locks
the proposal row, checks the table, saves only what changed, appends a ProposalEvent (and a
ledger record for the employee's own decisions) and writes its notices, in one transaction.
Services trust the caller to have checked who may act, except for the one rule that is the
product's reason to exist: only the person decides about themselves.
"""

from assignments.services._shared import PROPOSAL
from assignments.services.campaigns import (
    RetroactiveRow,
    RowError,
    RowsRejected,
    choose_audience,
    choose_audience_from_csv,
    create_campaign,
    import_retroactive_confirmations,
    preview_document,
    queue_campaign,
    readiness_errors,
    send_campaign,
    update_campaign,
)
from assignments.services.clock import (
    apply_due_moves,
    apply_move,
    expire_overdue_proposals,
    send_due_reminders,
)
from assignments.services.deactivation import withdraw_open_proposals_on_deactivation
from assignments.services.deciding import opt_in, opt_out, undraft, withdraw_consent
from assignments.services.leave import end_leave, start_leave
from assignments.services.managing import extend_deadline, withdraw_proposal
from assignments.services.placing import offer_placement
from assignments.services.proposing import (
    ItemsRejected,
    propose_campaign,
    propose_retroactive_confirmation,
    propose_transfer,
    propose_transfers,
)
from portal.errors import TransitionError

__all__ = [
    "PROPOSAL",
    "ItemsRejected",
    "RetroactiveRow",
    "RowError",
    "RowsRejected",
    "TransitionError",
    "apply_due_moves",
    "apply_move",
    "choose_audience",
    "choose_audience_from_csv",
    "create_campaign",
    "end_leave",
    "expire_overdue_proposals",
    "extend_deadline",
    "import_retroactive_confirmations",
    "offer_placement",
    "opt_in",
    "opt_out",
    "preview_document",
    "propose_campaign",
    "propose_retroactive_confirmation",
    "propose_transfer",
    "propose_transfers",
    "queue_campaign",
    "readiness_errors",
    "send_campaign",
    "send_due_reminders",
    "start_leave",
    "undraft",
    "update_campaign",
    "withdraw_consent",
    "withdraw_open_proposals_on_deactivation",
    "withdraw_proposal",
]
