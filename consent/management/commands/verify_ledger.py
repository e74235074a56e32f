"""Verify the consent ledger: its hash chain, its signed checkpoints, and the workflows' states.

    python manage.py verify_ledger
    python manage.py verify_ledger --checkpoint var/ledger-checkpoints   # every .jws in it
    python manage.py verify_ledger --checkpoint cp.jws --checkpoint receipt-42.jws --jwks jwks.json

Exit 0 with one summary line, or 1 naming what is wrong: the first broken link of the chain,
a checkpoint whose record was rewritten, a missing tail or a truncation, and any item whose
state disagrees with its latest ledger action.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from consent import checkpoints, kinds
from consent.ledger import verify_chain
from consent.models import ConsentRecord


class Command(BaseCommand):
    help = (
        "Re-compute the consent ledger's hash chain, compare it with signed checkpoints and "
        "cross-check workflow states; exit 1 naming the first problem."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            metavar="FILE",
            help="a signed checkpoint or emailed receipt (.jws), or a folder of them; repeatable",
        )
        parser.add_argument(
            "--jwks", metavar="FILE", help="check the signatures against this saved JWKS"
        )

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.intact:
            raise CommandError(
                f"ledger broken at record {report.first_broken_id}: {report.problem} "
                f"({report.checked} records before it verified)"
            )
        problems = []
        files = checkpoints.files_in(options["checkpoint"])
        if options["checkpoint"] and not files:
            raise CommandError(f"no checkpoint files in {', '.join(options['checkpoint'])}")
        key_set = self._key_set(options["jwks"])
        count = ConsentRecord.objects.count()
        for path in files:
            try:
                checkpoint = checkpoints.read(path.read_bytes(), source=str(path), key_set=key_set)
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
            except checkpoints.InvalidCheckpoint as exc:
                raise CommandError(f"checkpoint invalid: {exc}") from None
            problems += checkpoints.disagreements(checkpoint, report.head, count)
        for kind in kinds.registered():
            if kind.state_checker:
                problems += list(import_string(kind.state_checker)())
        if problems:
            shown = problems[:20]
            more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise CommandError("\n".join(shown) + more)
        against = f"; {len(files)} checkpoints agree" if files else ""
        self.stdout.write(f"ledger intact: {report.checked} records verified{against}")

    def _key_set(self, name):
        if not name:
            return None
        try:
            return json.loads(Path(name).read_text())
        except OSError as exc:
            raise CommandError(f"cannot read the key set {name}: {exc.strerror or exc}") from None
        except ValueError:
            raise CommandError(f"the key set {name} is not JSON") from None
