"""Count the consent-check spools of processes that died into the access log (datause.checklog).

Web processes do this themselves every half minute; run it on a host whose web processes are
gone for good (before its disk is reclaimed), or to see that nothing is waiting.
"""

from django.core.management.base import BaseCommand

from datause import checklog


class Command(BaseCommand):
    help = "Count spooled consent checks of dead processes into the access log."

    def handle(self, *args, **options):
        added = checklog.drain_orphans()
        self.stdout.write(f"counted {added} spooled check(s) from {checklog.spool_dir()}")
