"""Signed consent receipts: a compact JWS (Ed25519, `alg` EdDSA) over the receipt's JSON.

Keys come from settings (`PORTAL_RECEIPT_SIGNING_KEYS`, one or more Ed25519 private keys in
PEM): the first signs, the rest are retired and only published, so a receipt signed years ago
still verifies against `/.well-known/jwks.json`. A key's `kid` is its RFC 7638 JWK thumbprint,
so anyone holding the public key can recompute it. With DJANGO_DEBUG and no key configured,
settings name `PORTAL_RECEIPT_DEV_KEY_FILE` (var/receipt-signing-key.pem) and the first use
here generates a key into it once; every later process reads the same file.

The JWS library is joserfc; the tests verify with an independent one (jwcrypto). Verifying
needs only the token and a key set, never the database: `verify()` and the
`verify_receipt` management command work offline from a saved JWKS.
"""

import base64
import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import OKPKey
from joserfc.registry import HeaderParameter

from consent import kinds, ledger, receipts
from consent.models import ConsentRecord

ALG = "EdDSA"
TYP = "JOSE"
CTY = "json"
MEDIA_TYPE = "application/jose"  # RFC 7515, section 9.2.1: the compact serialization
JWKS_MEDIA_TYPE = "application/jwk-set+json"

_PEM_BLOCK = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL
)


def _iat(value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("'iat' must be a non-negative integer")


# EdDSA is what the brief and every JOSE library speak; RFC 9864's fully specified "Ed25519"
# is the same signature, and joserfc warns about the older name. `iat` (when the receipt was
# signed) is carried in the protected header, so the payload stays a plain Kantara receipt.
_REGISTRY = jws.JWSRegistry(
    header_registry={"iat": HeaderParameter("Issued at", _iat)}, algorithms=[ALG]
)
_REGISTRY.max_payload_length = 4 * 1024 * 1024  # long event histories stay signable


class InvalidReceipt(Exception):
    """A token that is not a valid signed receipt; the message says what is wrong."""


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    kid: str

    @property
    def public_jwk(self) -> dict:
        return public_jwk(self.private.public_key())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(key: Ed25519PublicKey) -> str:
    """RFC 7638: sha256 over the required members in lexicographic order, no whitespace."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw_public(key))}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def public_jwk(key: Ed25519PublicKey) -> dict:
    """The public half only: never "d"."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(_raw_public(key)),
        "kid": thumbprint(key),
        "use": "sig",
        "alg": ALG,
    }


def generate_pem() -> str:
    """A new Ed25519 private key as PKCS#8 PEM (what `openssl genpkey -algorithm ed25519`
    writes), for settings, tests and the development key file."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )


def _parse(text: str, source: str) -> list[SigningKey]:
    blocks = _PEM_BLOCK.findall(text or "")
    if not blocks:
        raise ImproperlyConfigured(f"{source} holds no PEM private key")
    found = []
    for number, block in enumerate(blocks, start=1):
        try:
            key = serialization.load_pem_private_key(block.encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"{source}: key {number} cannot be read: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured(
                f"{source}: key {number} is a {type(key).__name__}, not an Ed25519 key"
            )
        found.append(SigningKey(private=key, kid=thumbprint(key.public_key())))
    return found


def _development_key(path: Path) -> str:
    """Read the development key, generating it first when missing. Two processes starting at
    once both end up with the same file: the new key is written aside and linked into place,
    which fails for the second, who then reads the first one's key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        aside.write_text(generate_pem())
        aside.chmod(0o600)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink(missing_ok=True)
    return path.read_text()


@lru_cache(maxsize=8)
def _keys_from(configured: str, development_file: str) -> tuple[SigningKey, ...]:
    if configured.strip():
        return tuple(_parse(configured, "PORTAL_RECEIPT_SIGNING_KEYS"))
    if development_file:
        return tuple(_parse(_development_key(Path(development_file)), development_file)[:1])
    raise ImproperlyConfigured(
        "PORTAL_RECEIPT_SIGNING_KEYS is not set: receipts cannot be signed (set it, or "
        "PORTAL_RECEIPT_SIGNING_KEYS_FILE, to one or more Ed25519 private keys in PEM)"
    )


def keys() -> tuple[SigningKey, ...]:
    """Every configured key, the signing one first; duplicates appear once."""
    found = _keys_from(
        settings.PORTAL_RECEIPT_SIGNING_KEYS or "",
        str(getattr(settings, "PORTAL_RECEIPT_DEV_KEY_FILE", "") or ""),
    )
    unique: dict[str, SigningKey] = {}
    for key in found:
        unique.setdefault(key.kid, key)
    return tuple(unique.values())


def current_key() -> SigningKey:
    return keys()[0]


def jwks() -> dict:
    """The published key set: current and retired public keys, the signing one first."""
    return {"keys": [key.public_jwk for key in keys()]}


def _payload_bytes(receipt: dict) -> bytes:
    return json.dumps(receipt, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(receipt: dict, *, now: datetime | None = None) -> str:
    """The receipt as a compact JWS signed with the current key."""
    return sign_json(receipt, cty=CTY, now=now)


def sign_json(payload: dict, *, cty: str, now: datetime | None = None) -> str:
    """Any JSON statement of the portal (a receipt, a ledger checkpoint) as a compact JWS
    signed with the current receipt key; `cty` says which kind of statement it is."""
    key = current_key()
    header = {
        "alg": ALG,
        "kid": key.kid,
        "typ": TYP,
        "cty": cty,
        "iat": int((now or timezone.now()).timestamp()),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(
            header, _payload_bytes(payload), OKPKey.import_key(key.private), registry=_REGISTRY
        )


@dataclass(frozen=True)
class Verified:
    receipt: dict
    kid: str
    signed_at: datetime | None
    header: dict


def _looks_like_a_receipt(receipt) -> str:
    """What keeps `receipt` from being a Kantara v1.1 receipt, or "" (the fields the
    specification requires, with their JSON types; the full schema is checked in the tests)."""
    if not isinstance(receipt, dict):
        return "the payload is not a JSON object"
    required = {
        "version": str,
        "jurisdiction": str,
        "consentTimestamp": int,
        "collectionMethod": str,
        "consentReceiptID": str,
        "piiPrincipalId": str,
        "piiControllers": list,
        "policyUrl": str,
        "services": list,
        "sensitive": bool,
        "spiCat": list,
    }
    missing = [name for name in required if name not in receipt]
    if missing:
        return f"the payload is not a Kantara consent receipt (missing {', '.join(missing)})"
    wrong = [name for name, kind in required.items() if not isinstance(receipt[name], kind)]
    if wrong:
        return f"the payload is not a Kantara consent receipt (wrong type: {', '.join(wrong)})"
    if receipt["version"] != receipts.SPEC_VERSION:
        version = receipt["version"]
        return f"the payload is not a {receipts.SPEC_VERSION} receipt (version {version!r})"
    if not receipt["services"] or not receipt["piiControllers"]:
        return "the payload is not a Kantara consent receipt (no services or no controller)"
    return ""


def _public_keys(key_set: dict) -> dict[str, dict]:
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise InvalidReceipt('the key set is not a JWKS (no "keys" list)')
    return {
        jwk["kid"]: jwk
        for jwk in key_set["keys"]
        if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str)
    }


def verify(token: str | bytes, key_set: dict | None = None) -> Verified:
    """Check one compact JWS against a key set (the published one when None): the signature,
    the algorithm, the kid, and that the payload is a Kantara receipt. Raises InvalidReceipt
    saying what is wrong."""
    verified = verify_json(token, key_set)
    problem = _looks_like_a_receipt(verified.receipt)
    if problem:
        raise InvalidReceipt(problem)
    return verified


def verify_json(token: str | bytes, key_set: dict | None = None) -> Verified:
    """Check the signature of any statement `sign_json` made (the payload is returned as
    `receipt`, whatever it is; the caller checks what it says). Raises InvalidReceipt."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidReceipt("not a JWS: the file is not ASCII text") from None
    token = token.strip()
    if token.count(".") != 2:
        raise InvalidReceipt("not a JWS: a compact JWS has three parts separated by dots")
    try:
        unverified = jws.extract_compact(token.encode("ascii"), registry=_REGISTRY)
        header = dict(unverified.headers())
    except (JoseError, ValueError, UnicodeError) as exc:
        raise InvalidReceipt(f"not a JWS: {exc}") from None
    if header.get("alg") != ALG:
        raise InvalidReceipt(f"unexpected algorithm {header.get('alg')!r} (receipts use {ALG})")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidReceipt("the JWS header names no key (no kid)")
    published = _public_keys(jwks() if key_set is None else key_set)
    jwk = published.get(kid)
    if jwk is None:
        raise InvalidReceipt(f"unknown kid {kid}: not in the key set")
    if "d" in jwk:
        jwk = {name: value for name, value in jwk.items() if name != "d"}
    try:
        public = OKPKey.import_key(jwk)
    except (JoseError, ValueError) as exc:
        raise InvalidReceipt(f"the key {kid} in the key set cannot be read: {exc}") from None
    if public.curve_name != "Ed25519":
        raise InvalidReceipt(f"the key {kid} is not an Ed25519 key")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            checked = jws.deserialize_compact(token, public, registry=_REGISTRY)
    except JoseError as exc:
        raise InvalidReceipt(f"bad signature: {exc.description or exc.error}") from None
    try:
        payload = json.loads(checked.payload)
    except ValueError:
        raise InvalidReceipt("the payload is not JSON") from None
    iat = header.get("iat")
    return Verified(
        receipt=payload,
        kid=kid,
        signed_at=datetime.fromtimestamp(iat, UTC) if isinstance(iat, int) else None,
        header=header,
    )


def _about_path(record: ConsentRecord, kind: kinds.Kind) -> str:
    if not kind.url_name:
        return ""
    try:
        return reverse(kind.url_name, args=[record.about_id])
    except NoReverseMatch:
        return ""


def receipt_for(
    record: ConsentRecord, base_url: str | None = None, *, with_ledger_head: bool = True
) -> dict:
    """The receipt of one record with links under `base_url` (PORTAL_BASE_URL by default):
    what the email attaches, away from any request.

    It also names the ledger's head when it was signed (`ledgerHead`: sequence number, hash,
    time): every emailed receipt is then a signed checkpoint held outside the database, by the
    person, and `verify_ledger --checkpoint` accepts it like one."""
    base = (settings.PORTAL_BASE_URL if base_url is None else base_url).rstrip("/")
    what = receipts.decided(record)
    about = _about_path(record, what.kind)
    receipt = receipts.build_receipt(
        record,
        policy_url=base + about if about else "",
        terms_url=base + reverse("consent:terms", args=[record.terms_sha256]),
        withdraw_url=base + (about or "/"),
        what=what,
    )
    if with_ledger_head:
        last = ledger.head()
        receipt[receipts.EXTENSION_KEY]["ledgerHead"] = {
            "seq": last.seq,
            "hash": last.hash,
            "at": timezone.now().isoformat(),
        }
    return receipt


def signed_receipt(record: ConsentRecord, base_url: str | None = None) -> str:
    return sign(receipt_for(record, base_url))
