"""Run the minute sweep now (what beat runs every minute), e.g. after a maintenance window."""

from django.core.management.base import BaseCommand

from assignments.tasks import sweep_deadlines


class Command(BaseCommand):
    help = (
        "Expire overdue proposals, apply due moves, send due reminders and deliver the outbox, "
        "once, in this process. Safe next to a running beat: the sweep holds a lock."
    )

    def handle(self, *args, **options):
        result = sweep_deadlines()
        if result.get("skipped"):
            self.stdout.write("sweep skipped: another sweep is running")
            return
        self.stdout.write(
            "swept: {expired} expired, {moves} moved, {reminders} reminders, "
            "{dispatched} outbox events delivered".format(**result)
        )
