from django.core.management.base import BaseCommand, CommandError

from api import keys


class Command(BaseCommand):
    help = "Create an API key; prints it once, as the last line of output."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="who uses it, e.g. 'Workday sync'")
        parser.add_argument("--scopes", required=True, help="comma-separated, e.g. org:read,scim")

    def handle(self, *args, name, scopes, **options):
        try:
            key, secret = keys.create_key(name=name, scopes=scopes)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"created API key {key.name!r} ({key.prefix}) with scopes {', '.join(key.scopes)}; "
            "store it now, it is not shown again:"
        )
        self.stdout.write(secret)
