"""What a ledger record can be about, and the words its receipt uses: a registry workflows fill.

The ledger never names a workflow. A record says what it is about by `about_kind` and
`about_id`; the workflow that writes that kind registers its wording here from its
`AppConfig.ready()`, and receipts and pages read it back by key. A key nobody registered
(say a record imported from elsewhere) gets neutral wording, never an error: every record
must always render.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Kind:
    key: str  # the `about_kind` the workflow writes to the ledger
    label: str  # what the decision is about: the receipt's service, and its purpose with the id
    purpose_category: str = ""  # the receipt's purposeCategory; empty for none
    termination_text: str = _("You can withdraw this consent at any time.")  # after an opt-in
    withdrawal_text: str = _("No consent given.")  # after any other decision
    url_name: str = ""  # the page about one item, reversed with `about_id`; empty for none
    link_text: str = _("Back to what this decision is about")  # the link to that page
    # Dotted path of `reader(user, document) -> bool`: who besides the people whose records
    # pin a terms document may read it (the person a pending proposal is for, HR). Named by
    # string, like every other plug-in point, so the ledger imports no workflow.
    terms_reader: str = ""
    # Dotted path of `decision_label(action, content) -> str | None`: the name of a decision
    # as the person knew it, from the content of the terms document they decided on (None
    # when none is stored): a workflow whose acts have names of their own (where one kind of
    # document calls an opt-out "undraft") says so here; None, or no hook, keeps the ledger's
    # own label for the action.
    decision_label: str = ""
    # Dotted path of `state_checker() -> Iterable[str]`: every item of this kind whose own
    # state disagrees with its latest ledger action, in words (`verify_ledger` runs it; the
    # workflow compares in one query with consent.selectors.latest_action_about).
    state_checker: str = ""


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Make `kind` known. Registering the same wording again is harmless; giving one key two
    different wordings is a mistake and raises."""
    known = _kinds.setdefault(kind.key, kind)
    if known != kind:
        raise ValueError(f"ledger kind {kind.key!r} is already registered with other wording")
    return kind


def registered() -> list[Kind]:
    return list(_kinds.values())


def get(key: str) -> Kind:
    """The kind registered as `key`, or neutral wording for a key nobody registered."""
    return _kinds.get(key) or Kind(key=key, label=_("Consent decision"))
