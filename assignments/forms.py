"""Browser forms. They only parse input; every rule lives in `assignments.services`."""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assignments.deadlines import minimum_deadline
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


class UndraftForm(forms.Form):
    """Ranked team preferences for the preferential placement request."""

    private_reason = PrivateReasonField()

    def __init__(self, *args, exclude_team=None, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.all()
        if exclude_team is not None:
            teams = teams.exclude(pk=exclude_team.pk)
        labels = [_("First choice"), _("Second choice"), _("Third choice")]
        for rank, label in enumerate(labels[:MAX_PREFERENCES], 1):
            self.fields[f"choice_{rank}"] = forms.ModelChoiceField(
                queryset=teams,
                required=False,
                label=label,
                empty_label=_("No preference"),
            )
        # Keep the reason last, after the choices.
        self.order_fields([f"choice_{r}" for r in range(1, MAX_PREFERENCES + 1)])

    def clean(self):
        cleaned = super().clean()
        chosen = [
            cleaned.get(f"choice_{r}")
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


class ProposeTransferForm(forms.Form):
    employee = forms.ModelChoiceField(queryset=None, label=_("Person"))
    to_team = forms.ModelChoiceField(queryset=Team.objects.all(), label=_("Team they would join"))
    role_description = forms.CharField(
        label=_("Role description"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Describe the work honestly: what they would do day to day, how much of it is data "
            "labelling, grade, pay and on-call. The person reads exactly this."
        ),
    )
    data_labelling_percent = forms.IntegerField(
        label=_("Share of the work that is data labelling (%)"),
        min_value=0,
        max_value=100,
        initial=0,
    )
    start_date = forms.DateField(label=_("Start date"), widget=DateInput())
    response_deadline = forms.DateTimeField(
        label=_("Response deadline"), widget=DateTimeLocalInput()
    )

    def __init__(self, *args, employees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["employee"].queryset = employees
        earliest = minimum_deadline()
        self.earliest_deadline = earliest
        deadline = _next_full_hour(earliest)
        self.fields["response_deadline"].initial = deadline.strftime(DATETIME_LOCAL)
        self.fields["start_date"].initial = (deadline.date() + timedelta(days=14)).isoformat()


class ExtendDeadlineForm(forms.Form):
    response_deadline = forms.DateTimeField(
        label=_("New response deadline"), widget=DateTimeLocalInput()
    )


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form: to its field when the form has one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
