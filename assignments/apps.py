from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssignmentsConfig(AppConfig):
    name = "assignments"
    verbose_name = "Assignments"

    def ready(self):
        from consent import kinds

        # How receipts word a decision about a proposal; the ledger itself never names one.
        kinds.register(
            kinds.Kind(
                key="proposal",  # services.PROPOSAL, the about_kind this app writes
                label=_("Proposal to change team"),
                purpose_category=_("Employment: team assignment"),
                termination_text=_(
                    "You can withdraw this consent at any time before the start date; "
                    "after a move you can undraft."
                ),
                withdrawal_text=_("No consent given."),
                url_name="assignments:proposal",
                link_text=_("Back to the proposal"),
                terms_reader="assignments.terms.may_read",
                # One name for one act: a retroactive confirmation's opt-out is its undraft.
                decision_label="assignments.emails.decision_label",
                # verify_ledger compares each proposal's state with its latest ledger action.
                state_checker="assignments.ledger_check.proposals_disagreeing_with_ledger",
            )
        )
