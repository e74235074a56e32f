"""Write a signed checkpoint of the consent ledger's head, to ship outside the database.

    python manage.py checkpoint_ledger --out ledger-checkpoint.jws
    python manage.py checkpoint_ledger            # into PORTAL_LEDGER_CHECKPOINT_DIR

The file is a compact JWS (Ed25519, the receipt signing key) over {seq, hash, count, at}:
auditors check it offline against /.well-known/jwks.json, and `verify_ledger --checkpoint
FILE` compares it with the ledger later.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from consent import checkpoints


class Command(BaseCommand):
    help = "Write a signed checkpoint (head sequence number, head hash, count, time) of the ledger."

    def add_arguments(self, parser):
        parser.add_argument(
            "--out",
            metavar="FILE",
            help="where to write it ('-' prints it); default: a new file in "
            "PORTAL_LEDGER_CHECKPOINT_DIR",
        )

    def handle(self, *args, **options):
        out = options["out"]
        try:
            if out == "-":
                checkpoint = checkpoints.take()
                self.stdout.write(checkpoints.signed(checkpoint))
                return
            if out:
                path, checkpoint = Path(out), checkpoints.write(Path(out))
            else:
                directory = Path(settings.PORTAL_LEDGER_CHECKPOINT_DIR)
                path, checkpoint = checkpoints.write_to_directory(directory)
        except OSError as exc:
            raise CommandError(f"cannot write the checkpoint: {exc.strerror or exc}") from None
        self.stdout.write(
            f"checkpoint written to {path}: {checkpoint.count} records, head {checkpoint.seq} "
            f"{checkpoint.hash}"
        )
