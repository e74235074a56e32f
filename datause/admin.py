"""Purposes in the admin. Choices are not here and never will be: a person's data-use
choices live only in the ledger, and no admin page lists them."""

from django.contrib import admin

from datause.models import DataUsePurpose


@admin.register(DataUsePurpose)
class DataUsePurposeAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "version", "published_at", "approver_kind")
    list_filter = ("approver_kind",)
    search_fields = ("slug", "title")
    # Publishing goes through datause.services.publish_purpose (owner and approval required).
    readonly_fields = ("terms_sha256", "published_at")
