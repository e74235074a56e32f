"""Per-key rate limits, counted in the shared cache (Redis in production), so every web
process enforces the same budget. A browser session gets its own budget per user."""

from rest_framework.throttling import SimpleRateThrottle

from api.authentication import ApiClient


class PerClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiClient):
            ident = user.client_id
        elif user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
