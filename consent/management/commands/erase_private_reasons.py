"""Erase every private reason one person gave, for good (their data key is destroyed).

    python manage.py erase_private_reasons --employee E-1042
    python manage.py erase_private_reasons --user anna@example.com

The ledger keeps its records and its hashes (they cover only the sealed reasons), so
`verify_ledger` still passes; the reasons can never be read again, not even by the person.
"""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from consent.services import erase_private_reasons


class Command(BaseCommand):
    help = "Destroy one person's data key: every private reason they gave becomes unreadable."

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--employee", metavar="EXTERNAL_ID", help="the HRIS external id")
        who.add_argument("--user", metavar="EMAIL_OR_USERNAME", help="the person's account")

    def _subject(self, options):
        if options["employee"]:
            # By name, not by import: the ledger imports no other app (pyproject's contract).
            Employee = apps.get_model("people", "Employee")
            employee = (
                Employee.objects.select_related("user")
                .filter(external_id=options["employee"])
                .first()
            )
            if employee is None or employee.user is None:
                raise CommandError(f"no employee with external id {options['employee']!r}")
            return employee.user
        users = get_user_model().objects.filter(
            Q(email__iexact=options["user"]) | Q(username=options["user"])
        )
        found = list(users[:2])
        if len(found) != 1:
            problem = "no account" if not found else "more than one account"
            raise CommandError(f"{problem} matches {options['user']!r}; use --employee")
        return found[0]

    def handle(self, *args, **options):
        subject = self._subject(options)
        erasure = erase_private_reasons(subject=subject)
        self.stdout.write(
            f"erased {erasure.keys_erased} data keys of {subject.get_username()}: "
            f"{erasure.reasons_erased} private reasons can no longer be read"
        )
