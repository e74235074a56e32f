"""Creating, finding and revoking API keys."""

import hashlib
import json
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from api import coherence, prepared
from api.models import ApiKey
from api.scopes import parse

KEY_PREFIX = "cp_"
# last_used_at is written at most this often per key, so a busy client does not turn every
# read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_tag(secret_sha256: str) -> str:
    """What per-process caches of this key (api.authentication.client_for_secret) are
    invalidated by: a revocation, or any change to the key's row."""
    return f"k:{secret_sha256}"


@transaction.atomic
def create_key(*, name: str, scopes: str | list[str], created_by=None) -> tuple[ApiKey, str]:
    """Create a key; returns it and its secret, which is never stored and never shown again."""
    if not name.strip():
        raise ValueError("give the key a name that says who uses it")
    scope_list = parse(scopes if isinstance(scopes, str) else ",".join(scopes))
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    service_user = get_user_model().objects.create_user(
        username=f"api-key-{prefix}", first_name=name.strip()[:150], is_active=False
    )  # no password: create_user stores an unusable one
    key = ApiKey.objects.create(
        service_user=service_user,
        name=name.strip(),
        prefix=prefix,
        secret_sha256=_digest(secret),
        scopes=scope_list,
        created_by=created_by,
    )
    return key, secret


_ACTIVE_BY_DIGEST = None


def find_active_by_digest(secret_sha256: str) -> tuple[int, str, int, list] | None:
    """(id, name, service user id, scopes) of the active key with this digest, as a prepared
    statement (api.prepared): every Bearer request (api.authentication) and the consent
    check's cold path run it. Stamps last_used_at at most once a LAST_USED_RESOLUTION."""
    global _ACTIVE_BY_DIGEST
    if _ACTIVE_BY_DIGEST is None:
        meta = ApiKey._meta
        _ACTIVE_BY_DIGEST = (
            f"SELECT id, name, {meta.get_field('service_user').column}, scopes, last_used_at "
            f"FROM {meta.db_table} WHERE secret_sha256 = %(digest)s::text AND revoked_at IS NULL"
        )
    if connection.vendor == "postgresql":
        row = prepared.fetchone(_ACTIVE_BY_DIGEST, {"digest": secret_sha256})
    else:  # the embedded SQLite of `make run`
        row = (
            ApiKey.objects.filter(secret_sha256=secret_sha256, revoked_at=None)
            .values_list("id", "name", "service_user_id", "scopes", "last_used_at")
            .first()
        )
    if row is None:
        return None
    key_id, name, user_id, scopes, last_used_at = row
    if isinstance(scopes, str):  # Django has psycopg hand JSON over undecoded
        scopes = json.loads(scopes)
    now = timezone.now()
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key_id).update(last_used_at=now)
    return key_id, name, user_id, scopes


@transaction.atomic
def revoke(key: ApiKey) -> bool:
    """Revoke a key at once; False if it was already revoked. No web process answers for the
    key from its cache once the revocation has committed (api.coherence)."""
    revoked = ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=timezone.now())
    if revoked:
        secret_sha256 = key.secret_sha256 or ApiKey.objects.get(pk=key.pk).secret_sha256
        coherence.invalidate_before_commit([key_tag(secret_sha256)])
    return bool(revoked)


def _tags_of_saved_key(key: ApiKey, *, deleting: bool) -> list[str]:
    # A new key is in no cache; a changed one (scopes, name) must not be served as it was.
    return [key_tag(key.secret_sha256)] if key.pk else []


def guard_key_caches() -> None:
    """Called once from ApiConfig.ready: every save or delete of a key invalidates first."""
    coherence.guard_model(ApiKey, _tags_of_saved_key)


def find_by_prefix_or_name(value: str) -> ApiKey | None:
    return (
        ApiKey.objects.filter(prefix=value).first()
        or ApiKey.objects.filter(name=value, revoked_at=None).first()
    )
