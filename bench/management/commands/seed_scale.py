"""`seed_scale --employees N [--if-missing]`: fill an empty database for `make bench`.

Installed only by bench.settings (`DJANGO_SETTINGS_MODULE=bench.settings`), never in the
portal's own settings. Exit status 3 means the database holds other or stale data; the bench
then seeds a fresh one.
"""

import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from bench.seeding import SEED_VERSION, Seeder
from people.models import Employee

MARKER_TABLE = "seed_scale_marker"


def peak_rss_mb() -> float | None:
    """This process's peak resident memory in MB (Linux), kept with the marker."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


class Command(BaseCommand):
    help = (
        "Seed a large synthetic organisation on PostgreSQL for benchmarks (e.g. --employees "
        "100000). The database must have no employees yet."
    )

    def add_arguments(self, parser):
        parser.add_argument("--employees", type=int, default=100_000)
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when this database was already seeded at this size, by this "
            "version of the command, less than --max-age-days ago (exit 3 if it holds other data)",
        )
        parser.add_argument("--max-age-days", type=int, default=14)

    def handle(self, *args, employees, if_missing, max_age_days, **options):
        if connection.vendor != "postgresql":
            raise CommandError("seed_scale streams rows with COPY; it needs PostgreSQL")
        if employees < 100:
            raise CommandError("--employees must be at least 100")
        if if_missing and self._seeded_recently(employees, max_age_days):
            self.stdout.write(f"already seeded with {employees} employees")
            return
        if Employee.objects.exists():
            raise CommandError(
                "seed_scale fills an empty organisation; this database already has employees",
                returncode=3,
            )
        started = time.monotonic()
        counts = Seeder(employees).run()
        seconds = time.monotonic() - started
        self._write_marker(employees, seconds)
        self.stdout.write(
            f"seeded {employees} employees, {counts['teams']} teams, {counts['campaigns']} "
            f"campaigns, {counts['proposals']} proposals, {counts['records']} ledger records, "
            f"{counts['moves']} moves in {seconds:.1f} s, peak memory {peak_rss_mb()} MB"
        )

    def _seeded_recently(self, employees: int, max_age_days: int) -> bool:
        # Seeded pending proposals have deadlines 20 to 60 days out: an older seed would
        # hand the deadline sweep more overdue rows than the benchmark planted.
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
            if cursor.fetchone()[0] is None:
                return False
            cursor.execute(
                f"SELECT employees, version, seeded_at FROM {MARKER_TABLE} "
                "ORDER BY seeded_at DESC LIMIT 1"
            )
            row = cursor.fetchone()
        return (
            row is not None
            and row[0] == employees
            and row[1] == SEED_VERSION
            and timezone.now() - row[2] < timedelta(days=max_age_days)
        )

    def _write_marker(self, employees: int, seconds: float):
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (employees integer, version integer, "
                "seconds double precision, seeded_at timestamptz DEFAULT now())"
            )
            cursor.execute(
                f"ALTER TABLE {MARKER_TABLE} ADD COLUMN IF NOT EXISTS peak_rss_mb double precision"
            )
            cursor.execute(
                f"INSERT INTO {MARKER_TABLE} (employees, version, seconds, peak_rss_mb) "
                "VALUES (%s, %s, %s, %s)",
                [employees, SEED_VERSION, seconds, peak_rss_mb()],
            )
