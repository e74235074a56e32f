from django.contrib import admin, messages

from api import keys
from api.models import ApiKey
from api.scopes import SCOPES


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Admins create and revoke keys here; the secret is shown once, in the message after
    saving, and only its hash is stored."""

    list_display = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix")
    fields = ("name", "scopes")
    readonly_fields = ()
    actions = ["revoke_keys"]

    def get_readonly_fields(self, request, obj=None):
        return (
            ("name", "scopes", "prefix", "created_at", "last_used_at", "revoked_at") if obj else ()
        )

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) if obj else ("name", "scopes")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "scopes":
            field.help_text = 'A JSON list, e.g. ["proposals:read"]. Known: ' + ", ".join(SCOPES)
        return field

    def save_model(self, request, obj, form, change):
        if change:
            return
        key, secret = keys.create_key(
            name=obj.name, scopes=list(obj.scopes or []), created_by=request.user
        )
        obj.pk = key.pk
        self.message_user(
            request,
            f"Key created. Copy it now, it is not shown again: {secret}",
            messages.WARNING,
        )

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: what a key did stays attributable

    @admin.action(description="Revoke the selected keys (they stop working at once)")
    def revoke_keys(self, request, queryset):
        revoked = sum(keys.revoke(key) for key in queryset)
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)
