"""Re-wrap every live data key with the current ledger master key (after a rotation).

    PORTAL_LEDGER_MASTER_KEY="<new> <old>" python manage.py rewrap_subject_keys

Then the old master key can be dropped from the setting. Private reasons themselves are not
touched (they are sealed with the data keys, which stay the same), so the ledger is unchanged.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from consent import crypto
from consent.models import SubjectKey


class Command(BaseCommand):
    help = "Re-wrap every live data key with the first (current) PORTAL_LEDGER_MASTER_KEY."

    def handle(self, *args, **options):
        current = crypto.master_keys()[0].id
        done = 0
        stale = SubjectKey.objects.filter(erased_at__isnull=True).exclude(master_key_id=current)
        for key_id in stale.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                key = SubjectKey.objects.select_for_update().get(pk=key_id)
                if key.erased_at is not None or key.master_key_id == current:
                    continue  # erased or re-wrapped meanwhile
                key.wrapped, key.master_key_id = crypto.rewrap(
                    key.wrapped, subject_id=key.subject_id, master_key_id=key.master_key_id
                )
                key.save(update_fields=["wrapped", "master_key_id"])
                done += 1
        self.stdout.write(f"re-wrapped {done} data keys with master key {current}")
