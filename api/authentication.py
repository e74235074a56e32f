"""`Authorization: Bearer <key>` for HRIS clients and data pipelines; browser sessions too.

An API client is not a person: it is an `ApiClient` principal carrying its key and scopes. It
can never be the subject of a decision, so no decision service will ever accept it as actor.
"""

from dataclasses import dataclass, field

from rest_framework import authentication, exceptions

from api import coherence
from api.keys import KEY_PREFIX, _digest, find_active_by_digest, key_tag


@dataclass(frozen=True)
class ApiClient:
    key_id: int
    name: str
    user_id: int  # the key's service account: who "proposed" what the key proposes
    scopes: frozenset = field(default_factory=frozenset)
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_superuser: bool = False
    is_staff: bool = False
    pk: None = None  # no user account: it can never match a proposal's subject

    @property
    def client_id(self) -> str:
        return f"key:{self.key_id}"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class BearerKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        parts = header.split()
        if parts[0] != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the key as `Authorization: Bearer <key>`.")
        # The key's row on every request (a revocation holds at once), as one prepared
        # statement: through the ORM it cost ~1 ms, often more than the SCIM read it let in.
        found = (
            find_active_by_digest(_digest(parts[1])) if parts[1].startswith(KEY_PREFIX) else None
        )
        if found is None:
            raise exceptions.AuthenticationFailed("This API key is unknown or was revoked.")
        key_id, name, user_id, scopes = found
        client = ApiClient(key_id=key_id, name=name, user_id=user_id, scopes=frozenset(scopes))
        return client, None

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


def client_for_secret(secret: str) -> ApiClient | None:
    """The principal of an active key, from this process' cache when it may be used
    (api.coherence: a revocation is seen by every process before it commits), else from the
    database. For hot read paths that are not DRF views (the consent check)."""
    if not secret.startswith(KEY_PREFIX):
        return None
    digest = _digest(secret)
    cache = coherence.local()
    epoch = 0
    if cache is not None:
        epoch = cache.epoch  # before the database read: a fill racing a revocation is dropped
        client = cache.get(("k", digest))
        if client is not coherence.MISSING:
            return client
    found = find_active_by_digest(digest)
    if found is None:
        return None  # unknown keys are not cached: guessing fills no memory
    key_id, name, user_id, scopes = found
    client = ApiClient(key_id=key_id, name=name, user_id=user_id, scopes=frozenset(scopes))
    if cache is not None:
        cache.put(("k", digest), client, [key_tag(digest)], epoch)
    return client


def acting_user(request):
    """Who acts in a request: the person signed in, or the API key's own service account
    (loaded once per request: a bulk request proposes thousands of times as the same key)."""
    user = request.user
    if not isinstance(user, ApiClient):
        return user
    cached = getattr(request, "_acting_user", None)
    if cached is None:
        from django.contrib.auth import get_user_model

        cached = request._acting_user = get_user_model().objects.get(pk=user.user_id)
    return cached
