from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DatauseConfig(AppConfig):
    name = "datause"
    verbose_name = "Data use"

    def ready(self):
        from consent import kinds
        from datause import checkcache

        # A changed external id must not be answered for from any web process' cache.
        checkcache.guard_employee_caches()

        # How receipts word a decision about a data-use purpose; the ledger never names one.
        kinds.register(
            kinds.Kind(
                key="data_use",  # services.DATA_USE, the about_kind this app writes
                label=_("Use of your work data"),
                purpose_category=_("Data collection: use of work activity data"),
                termination_text=_(
                    "You can withdraw this consent at any time on your privacy page; collection "
                    "stops as soon as you do."
                ),
                withdrawal_text=_("No consent given: nothing is collected for this purpose."),
                url_name="",
                link_text=_("Back to your privacy page"),
                terms_reader="datause.terms.may_read",
            )
        )
