"""The HR form for a data-use purpose. It parses input (the owner by email, say); the rules
live in datause.services, whose errors the view puts back on these fields."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from datause.models import Category, DataUsePurpose
from people.models import Employee
from webhooks.models import WebhookEndpoint


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def consent_endpoints():
    """Endpoints that can carry consent.changed to a collecting system."""
    return [
        e for e in WebhookEndpoint.objects.filter(is_active=True) if "consent.changed" in e.events
    ]


class EndpointChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, endpoint):
        return f"{endpoint.url} ({endpoint.description})" if endpoint.description else endpoint.url


class PurposeForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        label=_("What is collected"),
    )
    owner_email = forms.EmailField(
        required=False,
        label=_("Accountable owner (their work email)"),
        help_text=_("The named person who answers for this purpose. Required to publish."),
    )
    webhook_endpoints = EndpointChoiceField(
        queryset=WebhookEndpoint.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Webhook endpoints of the collecting system"),
        help_text=_(
            "Every change of someone's choice is pushed (consent.changed) to these endpoints "
            "and to no other. With none, nothing is pushed: the collecting system must ask "
            "the consent check before it collects."
        ),
    )

    class Meta:
        model = DataUsePurpose
        fields = [
            "slug", "title", "categories", "why", "retention", "access", "collecting_system",
            "webhook_endpoints", "validity_months", "approver_kind", "approved_on",
            "approval_reference",
        ]  # fmt: skip
        labels = {
            "slug": _("Short name (in the API and the consent check)"),
            "title": _("Title"),
            "why": _("Why it is collected"),
            "retention": _("How long it is kept"),
            "access": _("Who may access it"),
            "collecting_system": _("Collecting system"),
            "validity_months": _("Consent lasts (months)"),
            "approver_kind": _("Approved by"),
            "approved_on": _("Approved on"),
            "approval_reference": _("Approval reference"),
        }
        help_texts = {
            "slug": _(
                "Lowercase letters, digits and hyphens, e.g. keystroke-capture. It never changes."
            ),
            "why": _("In plain words: every employee reads this before deciding."),
            "access": _("Name the team or roles; say who may not (managers, HR)."),
            "validity_months": _("After this, consent lapses and people are asked again."),
            "approval_reference": _(
                "The data-protection officer's or the works council's reference. Required "
                "to publish, with the approver and the date; employees see it."
            ),
        }
        widgets = {
            "why": forms.Textarea(attrs={"rows": 4}),
            "access": forms.Textarea(attrs={"rows": 3}),
            "approved_on": DateInput(),
            "validity_months": forms.NumberInput(attrs={"min": 1, "max": 36}),
        }

    field_order = [
        "slug", "title", "categories", "why", "retention", "access", "collecting_system",
        "webhook_endpoints", "validity_months", "owner_email", "approver_kind", "approved_on",
        "approval_reference",
    ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        endpoints = consent_endpoints()
        self.fields["webhook_endpoints"].queryset = WebhookEndpoint.objects.filter(
            pk__in=[e.pk for e in endpoints]
        )
        self.fields["approver_kind"].choices = [("", _("Not approved yet"))] + list(
            DataUsePurpose.ApproverKind.choices
        )
        self.fields["approver_kind"].required = False
        if self.instance.pk:
            del self.fields["slug"]  # a purpose's slug never changes
            if self.instance.owner_id:
                self.initial.setdefault("owner_email", self.instance.owner.email)
        else:
            self.fields["validity_months"].initial = 12

    def clean_owner_email(self):
        email = self.cleaned_data["owner_email"]
        if not email:
            return None
        owner = Employee.objects.filter(email__iexact=email, is_active=True).first()
        if owner is None:
            raise ValidationError(_("Nobody working here has this email address."))
        return owner

    def service_fields(self) -> dict:
        """What datause.services.create_purpose / update_purpose_draft take."""
        data = dict(self.cleaned_data)
        data.pop("slug", None)
        data["owner"] = data.pop("owner_email")
        data["approver_kind"] = data.get("approver_kind") or ""
        data["categories"] = list(data["categories"])
        data["webhook_endpoints"] = list(data["webhook_endpoints"])
        return data

    def _post_clean(self):
        # The service validates and saves; the model form must not write anything itself.
        pass


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's errors on the field they name (the owner's on owner_email), else on top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            name = "owner_email" if name == "owner" else name
            for message in errors:
                form.add_error(name if name in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)
