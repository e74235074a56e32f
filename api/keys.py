"""Creating, finding and revoking API keys."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from api.models import ApiKey
from api.scopes import parse

KEY_PREFIX = "cp_"
# last_used_at is written at most this often per key, so a busy client does not turn every
# read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


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


def find_active(secret: str) -> ApiKey | None:
    if not secret.startswith(KEY_PREFIX):
        return None
    key = ApiKey.objects.filter(secret_sha256=_digest(secret), revoked_at=None).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def revoke(key: ApiKey) -> bool:
    """Revoke a key at once; False if it was already revoked."""
    return bool(ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=timezone.now()))


def find_by_prefix_or_name(value: str) -> ApiKey | None:
    return (
        ApiKey.objects.filter(prefix=value).first()
        or ApiKey.objects.filter(name=value, revoked_at=None).first()
    )
