from django.contrib import admin

from consent.models import ConsentRecord, LedgerEpoch

# What the ledger's changelist may filter and sort on: what its sidebar and date bar offer, and
# nothing else. Django's admin accepts `?<any local field>__<any lookup>=` by default, which let
# a superuser test a private reason character by character with `__regex` (and an invalid
# pattern was a 500); an unlisted lookup is now refused with a 400 before any query runs.
_DATE_PARTS = ("__year", "__month", "__day", "__gte", "__lt")


class StrictLookupsMixin:
    """A changelist that answers only the filters it offers: every other query-string lookup
    is a 400 (DisallowedModelAdminLookup), never a database query and never a 500."""

    def allowed_lookups(self) -> set[str]:
        allowed = set()
        for entry in self.list_filter:
            name = entry if isinstance(entry, str) else entry[0]
            allowed |= {name, f"{name}__exact", f"{name}__isnull"}
        if self.date_hierarchy:
            allowed |= {self.date_hierarchy + part for part in _DATE_PARTS}
        return allowed

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.allowed_lookups()


@admin.register(ConsentRecord)
class ConsentRecordAdmin(StrictLookupsMixin, admin.ModelAdmin):
    """Read-only: the ledger is append-only, and only the consent services append to it."""

    list_display = (
        "id",
        "seq",
        "recorded_at",
        "subject",
        "action",
        "about_kind",
        "about_id",
        "channel",
    )
    list_filter = ("action", "about_kind", "channel")
    search_fields = ("subject__email", "about_id", "hash")
    date_hierarchy = "recorded_at"
    # Private: the sealed reason and its key are never shown, not even to admins (only the
    # person opens their reason, through consent.selectors.private_reason_of).
    exclude = ("reason_ciphertext", "reason_key")

    def get_queryset(self, request):
        # Individual data-use choices are the person's alone, not even an admin's to browse.
        return (
            super()
            .get_queryset(request)
            .exclude(about_kind="data_use")
            .defer("reason_ciphertext", "reason_key")
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEpoch)
class LedgerEpochAdmin(StrictLookupsMixin, admin.ModelAdmin):
    """Changes of the chain's format: read-only, like the ledger."""

    list_display = ("id", "at", "previous_format", "format", "records", "new_head_hash")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
