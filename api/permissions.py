"""Scopes per view and method. A view names what it needs:

    required_scopes = {"GET": "proposals:read", "POST": "proposals:write"}

An API key needs that scope (403 otherwise); a signed-in person needs no scope, and sees only
what their role may see, because every queryset is limited to the caller first.
"""

from rest_framework import permissions

from api.authentication import ApiClient

SAFE = ("GET", "HEAD", "OPTIONS")


def required_scope(view, method: str) -> str | None:
    scopes = getattr(view, "required_scopes", {})
    if method in SAFE:
        return scopes.get("GET")
    return scopes.get(method) or scopes.get("WRITE")


class HasScope(permissions.BasePermission):
    message = "This API key lacks the scope this endpoint needs."

    def has_permission(self, request, view):
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if isinstance(user, ApiClient):
            scope = required_scope(view, request.method)
            if scope is None or not user.has_scope(scope):
                self.message = f"This API key lacks the `{scope}` scope this endpoint needs."
                return False
        return True


def is_api_client(user) -> bool:
    return isinstance(user, ApiClient)
