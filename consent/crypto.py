"""Private reasons sealed at rest: one data key per person, wrapped by a master key.

A reason is encrypted with AES-256-GCM under its subject's data key before the row is written,
so the database (a dump, a replica, a superuser with a SQL prompt) holds only ciphertext. Data
keys live in `SubjectKey`, each wrapped (AES-GCM again) by the master key, which never touches
the database: it comes from `PORTAL_LEDGER_MASTER_KEY` (or `PORTAL_LEDGER_MASTER_KEY_FILE`).
Erasing a person's key (`consent.services.erase_private_reasons`) blanks the wrapped key, and
with it every reason it sealed, while the ledger rows and their hashes stay as they were: the
chain covers the ciphertext, not the words (crypto-shredding).

The master key setting holds one or more 32-byte keys in base64, separated by spaces, commas or
newlines: the first wraps new data keys, the others only unwrap (rotation: put the new key
first, keep the old ones until `rewrap_subject_keys` has run). A key's id is a short hash of it,
stored beside each wrapped key, so a missing key is named, never guessed. With DJANGO_DEBUG and
no key set, settings name `PORTAL_LEDGER_DEV_MASTER_KEY_FILE` (var/ledger-master-key) and the
first use here generates a key into it once, like the receipt signing key (consent.signing).

Every ciphertext is bound to its subject and key (AES-GCM associated data), so a sealed reason
copied onto another person's record does not open. Plaintext is padded to a multiple of
PAD_TO bytes, so the length of a reason says little about its words.
"""

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12
KEY_BYTES = 32
PAD_TO = 64
SEALED_PREFIX = "v1."  # the format of a sealed reason, so a future one can be told apart


class ReasonUnreadable(Exception):
    """A sealed reason that cannot be opened with the keys this process holds."""


@dataclass(frozen=True)
class MasterKey:
    id: str
    aead: AESGCM


def generate_master_key() -> str:
    """A new master key, base64 (what `openssl rand -base64 32` prints)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _key_id(raw: bytes) -> str:
    return hashlib.sha256(b"consent-ledger-master-key:" + raw).hexdigest()[:16]


def _parse(text: str, source: str) -> tuple[MasterKey, ...]:
    found = []
    for number, word in enumerate(re.split(r"[\s,]+", text.strip()), start=1):
        try:
            raw = base64.b64decode(word.replace("-", "+").replace("_", "/") + "==", validate=False)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"{source}: key {number} is not base64") from None
        if len(raw) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"{source}: key {number} is {len(raw)} bytes, not {KEY_BYTES} "
                "(make one with `openssl rand -base64 32`)"
            )
        found.append(MasterKey(id=_key_id(raw), aead=AESGCM(raw)))
    return tuple(found)


def _development_key(path: Path) -> str:
    """Read the development master key, generating it once (the receipt key's approach: the
    new key is written aside and linked into place, so two processes agree on one)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        aside.write_text(generate_master_key() + "\n")
        aside.chmod(0o600)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink(missing_ok=True)
    return path.read_text()


@lru_cache(maxsize=8)
def _keys_from(configured: str, development_file: str) -> tuple[MasterKey, ...]:
    if configured.strip():
        return _parse(configured, "PORTAL_LEDGER_MASTER_KEY")
    if development_file:
        return _parse(_development_key(Path(development_file)), development_file)[:1]
    raise ImproperlyConfigured(
        "PORTAL_LEDGER_MASTER_KEY is not set: private reasons cannot be sealed or read (set it, "
        "or PORTAL_LEDGER_MASTER_KEY_FILE, to a 32-byte key in base64: `openssl rand -base64 32`)"
    )


def master_keys() -> tuple[MasterKey, ...]:
    return _keys_from(
        getattr(settings, "PORTAL_LEDGER_MASTER_KEY", "") or "",
        str(getattr(settings, "PORTAL_LEDGER_DEV_MASTER_KEY_FILE", "") or ""),
    )


def _master(key_id: str) -> MasterKey:
    for key in master_keys():
        if key.id == key_id:
            return key
    raise ImproperlyConfigured(
        f"the ledger master key {key_id} is not configured: it wrapped a data key in the "
        "database; add it back to PORTAL_LEDGER_MASTER_KEY (after the current one)"
    )


def _wrap_aad(subject_id: int) -> bytes:
    return f"consent-subject-key:{subject_id}".encode()


def new_data_key(subject_id: int) -> tuple[bytes, bytes, str]:
    """A fresh data key for `subject_id`: (the key, it wrapped by the current master key, the
    master key's id)."""
    master = master_keys()[0]
    key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    return key, nonce + master.aead.encrypt(nonce, key, _wrap_aad(subject_id)), master.id


def unwrap(wrapped: bytes, *, subject_id: int, master_key_id: str) -> bytes:
    master = _master(master_key_id)
    wrapped = bytes(wrapped)
    try:
        return master.aead.decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(subject_id)
        )
    except InvalidTag:
        raise ReasonUnreadable(
            f"the data key of subject {subject_id} does not open with master key {master_key_id}"
        ) from None


def rewrap(wrapped: bytes, *, subject_id: int, master_key_id: str) -> tuple[bytes, str]:
    """The same data key wrapped by the current master key (rotation)."""
    key = unwrap(wrapped, subject_id=subject_id, master_key_id=master_key_id)
    master = master_keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    return nonce + master.aead.encrypt(nonce, key, _wrap_aad(subject_id)), master.id


def _seal_aad(subject_id: int, key_id: int) -> bytes:
    return f"consent-reason:{subject_id}:{key_id}".encode()


def _pad(data: bytes) -> bytes:
    # ISO/IEC 7816-4: a 0x80 marker, then zeros up to the next multiple of PAD_TO.
    data += b"\x80"
    return data + b"\x00" * (-len(data) % PAD_TO)


def _unpad(data: bytes) -> bytes:
    end = data.rstrip(b"\x00")
    if not end.endswith(b"\x80"):
        raise ReasonUnreadable("a sealed reason has broken padding")
    return end[:-1]


def seal(text: str, *, data_key: bytes, subject_id: int, key_id: int) -> str:
    """`text` encrypted for the ledger: "v1." + base64url(nonce + ciphertext + tag)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(data_key).encrypt(nonce, _pad(text.encode()), _seal_aad(subject_id, key_id))
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")


def open_sealed(sealed: str, *, data_key: bytes, subject_id: int, key_id: int) -> str:
    if not sealed.startswith(SEALED_PREFIX):
        raise ReasonUnreadable("not a sealed reason of a known format")
    body = sealed[len(SEALED_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plain = AESGCM(data_key).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _seal_aad(subject_id, key_id)
        )
    except (binascii.Error, ValueError, InvalidTag):
        raise ReasonUnreadable("a sealed reason does not open with its subject's key") from None
    return _unpad(plain).decode()
