"""Check one signed consent receipt (a compact JWS file) against the published keys.

    python manage.py verify_receipt receipt-42.jws
    python manage.py verify_receipt receipt-42.jws --jwks jwks.json   # offline, a saved key set

Exit status 0 with "receipt valid: <consentReceiptID> signed by <kid> at <time>", or 1 with
what is wrong: not a JWS, an unknown kid, a bad signature, a payload that is not a Kantara
receipt. Without --jwks the key set is the portal's own (current and retired keys, from
settings); no database is read either way.
"""

import json
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand

from consent import signing


class Command(BaseCommand):
    help = "Verify a signed consent receipt (compact JWS) against the receipt signing keys."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("file", help="the receipt's .jws file ('-' reads standard input)")
        parser.add_argument(
            "--jwks",
            metavar="FILE",
            help="verify against this saved JWKS (e.g. /.well-known/jwks.json) instead",
        )

    def _fail(self, message: str):
        self.stderr.write(f"receipt invalid: {message}")
        sys.exit(1)

    def handle(self, *args, **options):
        name = options["file"]
        try:
            token = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            self._fail(f"cannot read {name}: {exc.strerror or exc}")
        key_set = None
        if options["jwks"]:
            try:
                key_set = json.loads(Path(options["jwks"]).read_text())
            except OSError as exc:
                self._fail(f"cannot read the key set {options['jwks']}: {exc.strerror or exc}")
            except ValueError:
                self._fail(f"the key set {options['jwks']} is not JSON")
        try:
            verified = signing.verify(token, key_set)
        except signing.InvalidReceipt as exc:
            self._fail(str(exc))
        except ImproperlyConfigured as exc:
            self._fail(f"no key set to verify against ({exc}); pass --jwks FILE")
        when = verified.signed_at.isoformat() if verified.signed_at else "an unknown time"
        self.stdout.write(
            f"receipt valid: {verified.receipt['consentReceiptID']} "
            f"signed by {verified.kid} at {when}"
        )
