"""Each proposal's state against its latest ledger action: `verify_ledger`'s cross-check.

Registered as the "proposal" kind's state checker (apps.py), so the ledger runs it without
importing this app. A state the ledger does not explain (opted in without an opt-in record, a
move applied after a withdrawal) means a row was changed outside the services.
"""

from collections.abc import Iterator

from django.db.models import CharField, OuterRef
from django.db.models.functions import Cast

from assignments.models import Proposal
from assignments.services._shared import PROPOSAL
from consent.models import ConsentRecord
from consent.selectors import latest_action_about

State, Action = Proposal.State, ConsentRecord.Action

# The states a proposal may be in after its latest ledger action (None: no record yet).
STATES_AFTER = {
    None: (State.PENDING, State.WITHDRAWN),
    Action.OPT_IN: (State.OPTED_IN, State.EFFECTIVE, State.WITHDRAWN),
    Action.OPT_OUT: (State.OPTED_OUT,),
    Action.WITHDRAW: (State.OPTED_OUT,),
    Action.EXPIRE: (State.EXPIRED,),
    Action.UNDRAFT: (State.EFFECTIVE,),
}


def proposals_disagreeing_with_ledger(limit: int = 100) -> Iterator[str]:
    """One streamed query (each proposal with its latest action, from the ledger's about
    index); the comparison runs here, so a missing record is None, never SQL's unknown."""
    rows = (
        Proposal.objects.annotate(
            last_action=latest_action_about(PROPOSAL, Cast(OuterRef("pk"), CharField()))
        )
        .order_by("pk")
        .values_list("pk", "state", "last_action")
    )
    found = 0
    for pk, state, action in rows.iterator(chunk_size=5000):
        if state in STATES_AFTER.get(action, ()):
            continue
        said = (
            f"its latest ledger action is {action}" if action else "the ledger has no record of it"
        )
        yield f"proposal {pk} is {state}, but {said}"
        found += 1
        if found >= limit:
            return
