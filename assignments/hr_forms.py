"""Forms of the HR workspace. They parse input (a CSV file into numbered rows included); the
rules live in `assignments.services`."""

import copy
import csv
import io
from datetime import timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assignments import hr_selectors
from assignments.deadlines import minimum_deadline
from assignments.forms import ProposeTransferForm
from assignments.models import Campaign
from assignments.services import RetroactiveRow
from assignments.services.proposing import FACTS
from people.models import Employee, Team
from portal.numbers import as_id

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when it names one of the
    form's fields, else at the top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(name if name in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class CampaignForm(forms.ModelForm):
    target_teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("kind", "name"),
        widget=forms.CheckboxSelectMultiple,
        label=_("Target teams"),
        help_text=_("The teams people are invited to join."),
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "description",
            "target_teams",
            "role_description",
            "data_labelling_percent",
            "start_date",
            "response_working_days",
            "terms_version",
            "accountable_owner",
            "assessment_kind",
            "assessment_reference",
        ]
        labels = {
            "name": _("Name"),
            "description": _("What the campaign is, and why"),
            "role_description": _("The work, in plain words"),
            "data_labelling_percent": _("Share of the work that is data labelling (%)"),
            "start_date": _("Start date"),
            "response_working_days": _("Response window (working days)"),
            "terms_version": _("Terms version"),
            "accountable_owner": _("Accountable owner"),
            "assessment_kind": _("Assessment"),
            "assessment_reference": _("Assessment reference"),
        }
        help_texts = {
            "description": _("Shown to every person with their proposal. Be honest and specific."),
            "role_description": _(
                "What each person would do day to day, how much of it is data labelling, and "
                "what changes for them. They decide about their job from these words."
            ),
            "response_working_days": _("How long people have to decide, counted from sending."),
            "accountable_owner": _(
                "The named person who answers for this campaign, e.g. "
                "“Dana Director, VP Engineering”."
            ),
            "assessment_reference": _(
                "The reference of its impact assessment or works-council consultation. A "
                "campaign without an owner and this reference cannot be sent."
            ),
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "role_description": forms.Textarea(attrs={"rows": 5}),
            "start_date": DateInput(),
            "data_labelling_percent": forms.NumberInput(attrs={"min": 0, "max": 100}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        minimum = settings.PORTAL_MIN_RESPONSE_WORKING_DAYS
        self.fields["response_working_days"].widget.attrs["min"] = minimum
        for name in ("role_description", "start_date"):
            self.fields[name].required = True
        self.fields["assessment_kind"].choices = [("", _("Not yet known"))] + list(
            Campaign.Assessment.choices
        )

    def clean_data_labelling_percent(self):
        value = self.cleaned_data["data_labelling_percent"]
        if not 0 <= value <= 100:
            raise ValidationError(_("The data-labelling share is a percentage, 0 to 100."))
        return value


class DestinationMixin:
    """The team people would join, when the campaign has several target teams."""

    def add_destination(self, campaign: Campaign, *, in_file=False):
        """With one target team it is the destination (and may be left out of the post);
        with several, HR picks one, or (`in_file`) names one per row of the file."""
        targets = list(campaign.target_teams.order_by("name"))
        self.only_target = targets[0] if len(targets) == 1 else None
        several = len(targets) > 1
        self.fields["to_team"] = forms.ModelChoiceField(
            queryset=campaign.target_teams.order_by("name"),
            label=_("Team they would join"),
            required=several and not in_file,
            empty_label=_("Named in the file") if several and in_file else None,
            initial=self.only_target.pk if self.only_target else None,
        )

    def clean_to_team(self):
        return self.cleaned_data.get("to_team") or self.only_target


class AudienceTeamsForm(DestinationMixin, forms.Form):
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        label=_("Everyone in these teams"),
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_destination(campaign)


class ManagerSearchInput(forms.TextInput):
    """A text field that asks the server for matching managers as HR types (htmx), shown in
    the live region after it (templates/hr/_manager_picker.html). Without JavaScript it is a
    plain text field: the form then resolves what was typed when it is submitted."""

    def __init__(self, attrs=None):
        super().__init__(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "hx-get": reverse_lazy("hr:manager_suggestions"),
                "hx-trigger": "input changed delay:250ms, search",
                "hx-target": "#manager-suggestions",
                "hx-swap": "innerHTML",
                "aria-controls": "manager-suggestions",
                **(attrs or {}),
            }
        )


class AudienceManagerForm(DestinationMixin, forms.Form):
    """A manager by search, not a <select> of every manager: part of a name, an email or an
    employee id. A suggestion HR picked arrives as `pick` (its id); otherwise an exact email
    or employee id, or a name only one manager has, is enough. Anything else is answered
    with the matches to pick from, so it works without JavaScript too."""

    manager = forms.CharField(
        label=_("Everyone reporting directly to"),
        max_length=254,
        help_text=_(
            "Type part of their name, or their email or employee id, then pick them from the "
            "matches."
        ),
        widget=ManagerSearchInput(),
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.matches: list[Employee] = []
        self.picked_pk = None
        self.pick_name = self.add_prefix("pick")
        self.suggestion_limit = hr_selectors.MANAGER_SUGGESTIONS
        self.min_chars = hr_selectors.MANAGER_QUERY_MIN_CHARS
        self.add_destination(campaign)

    def clean(self):
        cleaned = super().clean()
        typed = cleaned.get("manager")
        if typed is None:
            return cleaned
        pick = str(self.data.get(self.add_prefix("pick"), ""))
        manager = hr_selectors.manager_by_pk(as_id(pick)) if as_id(pick) is not None else None
        manager = manager or hr_selectors.manager_by_identifier(typed)
        if manager is None:
            self.matches = hr_selectors.manager_suggestions(typed)
            named = [m for m in self.matches if m.name.casefold() == typed.casefold()]
            if len(named) == 1 and len(self.matches) == 1:
                manager = named[0]
        if manager is None:
            if self.matches:
                message = _("Several managers match “%(typed)s”: pick one below.")
            else:
                message = _(
                    "No manager with active direct reports matches “%(typed)s”. Try part of "
                    "their name, or their email or employee id."
                )
            self.add_error("manager", message % {"typed": typed})
            return cleaned
        self.picked_pk = manager.pk
        cleaned["manager"] = manager
        return cleaned


def read_csv(upload, *, columns: int) -> list[list[str]]:
    """The rows of an uploaded CSV file as (row number, cells), numbered as a spreadsheet
    numbers them (the header, when there is one, is row 1). Raises ValidationError for a
    file that cannot be read at all; rows are judged by the service."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 5 MB; split it."))
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(_("The file is not UTF-8 text; save it as CSV UTF-8.")) from exc
    if "\x00" in text:  # no text column stores NUL: a database error later, not an answer
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValidationError(
            _("The file is not valid CSV: %(error)s") % {"error": f"line {line} contains NUL"}
        )
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ValidationError(_("The file is not valid CSV: %(error)s") % {"error": exc}) from exc
    if len(rows) > MAX_ROWS:
        raise ValidationError(_("The file has more than %(max)s rows.") % {"max": MAX_ROWS})
    numbered = [
        (number, [cell.strip() for cell in cells] + [""] * columns)
        for number, cells in enumerate(rows, 1)
        if any(cell.strip() for cell in cells)
    ]
    if numbered and numbered[0][1][0].lower().replace(" ", "_") in ("external_id", "employee_id"):
        numbered = numbered[1:]  # the header
    return [(number, cells[:columns]) for number, cells in numbered]


class AudienceCsvForm(DestinationMixin, forms.Form):
    file = forms.FileField(
        label=_("CSV file of employee ids"),
        help_text=_(
            "One person per row: their HRIS employee id, and optionally the target team they "
            "would join (its name or id) in a second column. A header row is optional."
        ),
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_destination(campaign, in_file=True)

    def clean_file(self):
        return read_csv(self.cleaned_data["file"], columns=2)


class RetroactiveImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file of people moved before the portal existed"),
        help_text=_(
            "Columns: employee id, the team they were moved from (name or id; empty if none), "
            "the date of the move (YYYY-MM-DD). A header row is optional."
        ),
    )
    role_description = forms.CharField(
        label=_("What the work is, in plain words"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Shown to each person with the question whether they want to stay, including "
            "how much of the work is data labelling."
        ),
    )
    data_labelling_percent = forms.IntegerField(
        label=_("Share of the work that is data labelling (%)"), min_value=0, max_value=100
    )
    response_deadline = forms.DateTimeField(
        label=_("Answer by"),
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL],
        help_text=_(
            "If someone does not answer, they are listed as having no consent on record, "
            "never as agreeing."
        ),
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"),
        required=False,
        label=_("Campaign the moves belonged to (optional)"),
        empty_label=_("None"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        suggested = timezone.localtime(minimum_deadline() + timedelta(days=2))
        self.fields["response_deadline"].initial = suggested.strftime(DATETIME_LOCAL)

    def clean_file(self):
        return [
            RetroactiveRow(row=n, external_id=c[0], previous_team=c[1], moved_on=c[2])
            for n, c in read_csv(self.cleaned_data["file"], columns=3)
        ]


class OfferPlacementForm(forms.Form):
    to_team = forms.ModelChoiceField(
        queryset=Team.objects.none(), label=_("Team offered"), empty_label=None
    )
    role_description = forms.CharField(
        label=_("The work, in plain words"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What they would do day to day, and how much of it is data labelling."),
    )
    data_labelling_percent = forms.IntegerField(
        label=_("Share of the work that is data labelling (%)"),
        min_value=0,
        max_value=100,
        initial=0,
    )
    start_date = forms.DateField(label=_("Start date"), widget=DateInput())
    response_deadline = forms.DateTimeField(
        label=_("Answer by"), widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL]
    )

    def __init__(self, *args, teams, seats, contact=("", ""), **kwargs):
        super().__init__(*args, **kwargs)
        # The same structured facts, asked the same way, as a manager's transfer proposal
        # (assignments.forms): an offer is a proposal, and people compare offers by them.
        for name in FACTS:
            self.fields[name] = copy.deepcopy(ProposeTransferForm.base_fields[name])
        self.fields["contact_name"].initial, self.fields["contact_email"].initial = contact
        self.order_fields(
            ["to_team", "role_description", "data_labelling_percent", *FACTS, "start_date"]
        )
        field = self.fields["to_team"]
        field.queryset = Team.objects.filter(pk__in=[t.pk for t in teams])
        labels = {
            t.pk: _("%(team)s (%(seats)s open seats)") % {"team": t.name, "seats": seats[t.pk]}
            if t.pk in seats
            else t.name
            for t in teams
        }
        field.choices = [(t.pk, labels[t.pk]) for t in teams]
        deadline = timezone.localtime(minimum_deadline() + timedelta(days=2))
        self.fields["response_deadline"].initial = deadline.strftime(DATETIME_LOCAL)
        self.fields["start_date"].initial = (deadline + timedelta(days=14)).date()


class LeaveForm(forms.Form):
    person = forms.CharField(
        label=_("Email or employee id"),
        max_length=254,
        help_text=_("Their response windows pause from now until they are back."),
    )
