"""Browser forms. They only parse input; every rule lives in `assignments.services`."""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from assignments.deadlines import minimum_deadline
from assignments.models import Proposal
from assignments.services.proposing import ROLE_DESCRIPTION_MIN_CHARS
from people.models import Team

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
MAX_PREFERENCES = 3


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TermsForm(forms.Form):
    """Binds a decision to the exact terms the person was shown (their sha256)."""

    terms_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)


class PrivateReasonField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Your reason, if you want to give one (optional, private)"))
        kwargs.setdefault(
            "help_text",
            _(
                "Only you can read this, on your receipt. Your manager never sees it; they "
                "see only your decision."
            ),
        )
        super().__init__(
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 3}),
            **kwargs,
        )


class OptOutForm(forms.Form):
    private_reason = PrivateReasonField()


class WithdrawConsentForm(forms.Form):
    private_reason = PrivateReasonField()


def seats_text(open_seats: int | None) -> str:
    if open_seats is None:
        return str(_("no headcount target set"))
    return ngettext("%(count)s open seat", "%(count)s open seats", open_seats) % {
        "count": open_seats
    }


class UndraftForm(forms.Form):
    """Ranked team preferences for the preferential placement request.

    `choices` come from `selectors.undraft_team_choices`: no AI-initiative team, not the team
    being left, the person's previous team first; each option says its open seats.
    """

    private_reason = PrivateReasonField()

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {str(choice.team.pk): choice.team for choice in choices}
        options = [("", _("No preference"))]
        for choice in choices:
            name = (
                _("Back to my previous team: %(team)s") % {"team": choice.team.name}
                if choice.is_previous
                else choice.team.name
            )
            options.append((str(choice.team.pk), f"{name} ({seats_text(choice.open_seats)})"))
        labels = [_("First choice"), _("Second choice"), _("Third choice")]
        for rank, label in enumerate(labels[:MAX_PREFERENCES], 1):
            self.fields[f"choice_{rank}"] = forms.ChoiceField(
                choices=options, required=False, label=label
            )
        # Keep the reason last, after the choices.
        self.order_fields([f"choice_{r}" for r in range(1, MAX_PREFERENCES + 1)])

    def clean(self):
        cleaned = super().clean()
        chosen = [
            self.teams[cleaned[f"choice_{r}"]]
            for r in range(1, MAX_PREFERENCES + 1)
            if cleaned.get(f"choice_{r}")
        ]
        if len({t.pk for t in chosen}) != len(chosen):
            raise ValidationError(_("Each team can be ranked only once."))
        cleaned["team_preferences"] = chosen
        return cleaned


def _next_full_hour(moment):
    local = timezone.localtime(moment)
    return (local + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)


def _fact(label, help_text, max_length, **kwargs):
    return forms.CharField(label=label, help_text=help_text, max_length=max_length, **kwargs)


class ProposeTransferForm(forms.Form):
    employee = forms.ModelChoiceField(queryset=None, label=_("Person"))
    to_team = forms.ModelChoiceField(queryset=Team.objects.all(), label=_("Team they would join"))
    role_description = forms.CharField(
        label=_("Role description"), widget=forms.Textarea(attrs={"rows": 6})
    )
    data_labelling_percent = forms.IntegerField(
        label=_("Share of the work that is data labelling (%)"),
        min_value=0,
        max_value=100,
        initial=0,
    )
    # Facts people compare offers by (services.proposing.FACTS): rows of the hashed terms.
    grade = _fact(_("Grade"), _("The grade they would have, e.g. L4."), 60)
    pay_band_change = forms.ChoiceField(
        label=_("Pay band change"),
        choices=Proposal.PayBandChange.choices,
        widget=forms.RadioSelect,
        help_text=_("Compared with their pay band today."),
    )
    location = _fact(_("Location"), _("Where they would work, e.g. Berlin office, remote."), 120)
    new_manager = _fact(_("New manager"), _("Who they would report to."), 200)
    expected_duration = _fact(
        _("Expected duration"), _("How long the move is meant to last, e.g. permanent."), 120
    )
    contact_name = _fact(
        _("Contact for questions"), _("A named person they can ask before deciding."), 200
    )
    contact_email = forms.EmailField(label=_("Contact email"), max_length=254)
    start_date = forms.DateField(label=_("Start date"), widget=DateInput())
    response_deadline = forms.DateTimeField(
        label=_("Response deadline"), widget=DateTimeLocalInput()
    )

    def __init__(self, *args, employees, contact=("", ""), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["employee"].queryset = employees
        # Why the minimum: the service's rule (services.proposing), said where it is asked.
        self.fields["role_description"].help_text = gettext(
            "At least %(min)s characters. The person decides about their job from these "
            "words alone, so describe the work honestly: what they would do day to day, how "
            "much of it is data labelling, on-call, and what changes for them. They read "
            "exactly this."
        ) % {"min": ROLE_DESCRIPTION_MIN_CHARS}
        self.fields["contact_name"].initial, self.fields["contact_email"].initial = contact
        earliest = minimum_deadline()
        self.earliest_deadline = earliest
        deadline = _next_full_hour(earliest)
        self.fields["response_deadline"].initial = deadline.strftime(DATETIME_LOCAL)
        self.fields["start_date"].initial = (deadline.date() + timedelta(days=14)).isoformat()


class ReasonField(forms.CharField):
    """The proposer's reason for extending or withdrawing: required, and shown to the person."""

    def __init__(self, **kwargs):
        super().__init__(
            label=_("Reason"),
            help_text=_("Required. The person is told this reason, in your words."),
            max_length=1000,
            widget=forms.Textarea(attrs={"rows": 3}),
            **kwargs,
        )


class ExtendDeadlineForm(forms.Form):
    response_deadline = forms.DateTimeField(
        label=_("New response deadline"), widget=DateTimeLocalInput()
    )
    reason = ReasonField()


class WithdrawProposalForm(forms.Form):
    reason = ReasonField()


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form: to its field when the form has one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
