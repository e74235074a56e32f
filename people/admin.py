from django.contrib import admin

from people.models import Employee, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "headcount_target")
    list_filter = ("kind",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "title", "team", "manager", "is_active", "on_leave_since")
    list_filter = ("is_active", "team", ("on_leave_since", admin.EmptyFieldListFilter))
    search_fields = ("name", "email", "external_id")
    list_select_related = ("team", "manager")
    raw_id_fields = ("user", "manager")

    def get_readonly_fields(self, request, obj=None):
        # A team changes only through a consented Move, never by editing a person; leave
        # only through the leave actions, which pause and extend response windows.
        return ("team", "on_leave_since") if obj is not None else ("on_leave_since",)
