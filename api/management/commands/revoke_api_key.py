from django.core.management.base import BaseCommand, CommandError

from api import keys


class Command(BaseCommand):
    help = "Revoke an API key by its prefix or name; it stops working at once."

    def add_arguments(self, parser):
        parser.add_argument("key", help="the key's prefix (as listed in the admin) or name")

    def handle(self, *args, key, **options):
        found = keys.find_by_prefix_or_name(key)
        if found is None:
            raise CommandError(f"no API key with prefix or name {key!r}")
        if not keys.revoke(found):
            raise CommandError(f"API key {found.name!r} ({found.prefix}) was already revoked")
        self.stdout.write(f"revoked API key {found.name!r} ({found.prefix})")
